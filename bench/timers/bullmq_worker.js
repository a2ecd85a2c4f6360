'use strict';
// BullMQ's worker for bench/timers, in its own process (forked by
// bullmq_bench.js): a Worker with a no-op processor that reads the wall clock
// on entry. When --expect jobs have run it writes "due_ms fired_ms" lines to
// --out, tells its parent, and exits.
const fs = require('node:fs');
const { Worker } = require('bullmq');
const { parseArgs, wallMs } = require('./common');

const o = parseArgs(process.argv.slice(2), {
  host: '127.0.0.1',
  port: 6379,
  queue: 'timers',
  concurrency: 100,
  expect: 0,
  out: '',
});

const due = new Float64Array(o.expect);
const fired = new Float64Array(o.expect);
const seen = new Set();
let count = 0;
let dups = 0;
let finished = false;

function finish(worker) {
  if (finished) return;
  finished = true;
  const lines = [];
  for (let i = 0; i < count; i++) lines.push(`${due[i]} ${fired[i].toFixed(3)}`);
  fs.writeFileSync(o.out, lines.join('\n') + '\n');
  process.send({ type: 'done', fired: count, duplicates: dups }, () => {
    worker.close(true).finally(() => process.exit(0));
  });
}

const worker = new Worker(
  o.queue,
  async (job) => {
    const now = wallMs();
    const id = job.data.timer_id;
    if (seen.has(id)) {
      dups++;
      return;
    }
    seen.add(id);
    if (count < o.expect) {
      due[count] = job.data.due_ms;
      fired[count] = now;
      count++;
    }
    if (count === o.expect) setImmediate(() => finish(worker));
  },
  {
    connection: { host: o.host, port: o.port, maxRetriesPerRequest: null },
    concurrency: o.concurrency,
    autorun: true,
  },
);
worker.on('error', (err) => process.stderr.write(`bullmq worker: ${err.message}\n`));
worker.waitUntilReady().then(() => process.send({ type: 'ready' }));
process.on('disconnect', () => process.exit(1)); // parent gone: stop

'use strict';
// BullMQ's side of bench/timers (bench.py runs it next to Charter and
// Sidekiq). Delayed jobs on one queue; each job's timestamp + delay is the
// timer's due instant exactly (opts.timestamp is set), and its data carries
// the same fields Charter's payload does.
//
//   node bullmq_bench.js --mode schedule|lateness|burst|fill --timers N
//        [--batch 0|B] [--window W] [--host H --port P] [--out FILE] ...
//
// schedule/fill: --batch 0 adds each case's jobs with Queue.add (one call per
// job, the case's calls together), at most --window cases in flight;
// --batch B uses Queue.addBulk with B jobs per call. lateness/burst: forks
// bullmq_worker.js (its own process), waits until it is ready, schedules with
// addBulk, and waits for the worker to have run every job. Prints one JSON
// line; --time-limit-s bounds the run.
const path = require('node:path');
const { fork } = require('node:child_process');
const { Queue } = require('bullmq');
const { parseArgs, wallMs, caseTimers, pool, sleep } = require('./common');

const o = parseArgs(process.argv.slice(2), {
  mode: 'schedule',
  timers: 100000,
  per_case: 2,
  batch: 0,
  window: 1000,
  host: '127.0.0.1',
  port: 6379,
  queue: 'timers',
  spread_ms: 10000,
  lead_ms: 5000,
  settle_ms: 1000,
  concurrency: 100,
  out: '',
  time_limit_s: 300,
});

const result = { peer: 'bullmq', mode: o.mode, ok: false, timers: o.timers, batch: o.batch };
let child = null;

function emit(extra) {
  Object.assign(result, extra);
  process.stdout.write(JSON.stringify(result) + '\n');
}

const limit = setTimeout(() => {
  emit({ ok: false, error: 'time limit reached' });
  if (child && child.exitCode === null) child.kill('SIGKILL');
  process.exit(1);
}, o.time_limit_s * 1000);

function jobOf(t, base) {
  return {
    name: 'timer',
    data: t.data,
    opts: {
      timestamp: base,
      delay: Math.max(0, t.data.due_ms - base),
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

async function schedule(queue, base, t0) {
  const ncases = Math.ceil(o.timers / o.per_case);
  let c = 0;
  let done = 0;
  const start = process.hrtime.bigint();
  if (o.batch === 0) {
    await pool(
      o.window,
      () => (c < ncases ? c++ : undefined),
      async (cc) => {
        const ts = caseTimers(cc, o.per_case, o.timers, o.mode, t0, base, o.spread_ms);
        await Promise.all(
          ts.map((t) => {
            const j = jobOf(t, base);
            return queue.add(j.name, j.data, j.opts);
          }),
        );
        done += ts.length;
      },
    );
  } else {
    const casesPerCall = Math.max(1, Math.floor(o.batch / o.per_case));
    await pool(
      o.window,
      () => {
        if (c >= ncases) return undefined;
        const first = c;
        c = Math.min(ncases, c + casesPerCall);
        return [first, c];
      },
      async ([from, to]) => {
        const jobs = [];
        for (let cc = from; cc < to; cc++)
          for (const t of caseTimers(cc, o.per_case, o.timers, o.mode, t0, base, o.spread_ms))
            jobs.push(jobOf(t, base));
        await queue.addBulk(jobs);
        done += jobs.length;
      },
    );
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { scheduled: done, schedule_seconds: seconds, timers_per_second: done / seconds };
}

async function main() {
  const connection = { host: o.host, port: o.port, maxRetriesPerRequest: null };
  const queue = new Queue(o.queue, { connection });
  await queue.waitUntilReady();
  if (o.mode === 'schedule' || o.mode === 'fill') {
    const base = Date.now();
    const r = await schedule(queue, base, 0);
    await queue.close();
    return { ok: r.scheduled === o.timers, ...r };
  }
  child = fork(
    path.join(__dirname, 'bullmq_worker.js'),
    ['--host', o.host, '--port', String(o.port), '--queue', o.queue,
     '--concurrency', String(o.concurrency), '--expect', String(o.timers), '--out', o.out],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const messages = [];
  let wake = null;
  child.on('message', (m) => {
    messages.push(m);
    if (wake) wake();
  });
  const next = async (type) => {
    for (;;) {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) return messages.splice(i, 1)[0];
      await new Promise((r) => (wake = r));
    }
  };
  await next('ready');
  await sleep(o.settle_ms);
  const base = Date.now();
  const t0 = base + o.lead_ms;
  const r = await schedule(queue, base, t0);
  const schedEnd = wallMs();
  const done = await next('done');
  await new Promise((r2) => (child.exitCode !== null ? r2() : child.once('exit', r2)));
  await queue.close();
  return {
    ok: r.scheduled === o.timers && done.fired === o.timers,
    ...r,
    t0_ms: t0,
    schedule_end_minus_t0_ms: schedEnd - t0,
    fired: done.fired,
    duplicates: done.duplicates,
    concurrency: o.concurrency,
  };
}

main().then(
  (r) => {
    clearTimeout(limit);
    emit({ error: '', ...r });
    process.exit(0);
  },
  (err) => {
    clearTimeout(limit);
    emit({ ok: false, error: String(err && err.message) });
    if (child && child.exitCode === null) child.kill('SIGKILL');
    process.exit(1);
  },
);

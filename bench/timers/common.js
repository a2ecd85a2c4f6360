'use strict';
// Shared by bullmq_bench.js and bullmq_worker.js: argument parsing, the
// timer payload (the same fields Charter stores in its TimerFired protobuf,
// here as the job's JSON data), the wall clock and bounded concurrency.
const crypto = require('node:crypto');
const { performance } = require('node:perf_hooks');

const DAY_MS = 86400000;
const KINDS = {
  1: ['breach'],
  2: ['acknowledgement_due', 'breach'],
  3: ['acknowledgement_due', 'warning_1', 'breach'],
  4: ['acknowledgement_due', 'warning_1', 'warning_2', 'breach'],
};

function parseArgs(argv, defaults) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-/g, '_');
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    o[k] = typeof o[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return o;
}

// Wall clock in ms with sub-ms resolution (CLOCK_REALTIME, as Charter's and
// Sidekiq's handlers read it).
function wallMs() {
  return performance.timeOrigin + performance.now();
}

// The due instant of timer i, as charter_timers.c computes it.
function dueOf(mode, i, n, t0, base, spreadMs) {
  if (mode === 'lateness') return t0 + Math.floor((i * spreadMs) / n);
  if (mode === 'burst') return t0;
  return base + DAY_MS + i;
}

// The timers of case c: [{ i, data }], data being the job's payload.
function caseTimers(c, perCase, n, mode, t0, base, spreadMs) {
  const caseId = crypto.randomUUID();
  const kinds = KINDS[perCase];
  const out = [];
  for (let k = 0; k < perCase; k++) {
    const i = c * perCase + k;
    if (i >= n) break;
    const kind = kinds[k];
    out.push({
      i,
      data: {
        timer_id: `${caseId}/${kind}`,
        case_id: caseId,
        organisation: 'derby-homes',
        reference: `DH-${String(c % 10000000).padStart(7, '0')}`,
        channel: 'email',
        case_type: 'enquiry',
        kind,
        tier: kind.startsWith('warning_') ? Number(kind.slice(8)) : 0,
        due_ms: dueOf(mode, i, n, t0, base, spreadMs),
        target_ms: base + 10 * DAY_MS,
      },
    });
  }
  return out;
}

// Runs fn(job) for every job from next() with at most `width` in flight.
async function pool(width, next, fn) {
  const runners = [];
  for (let w = 0; w < width; w++) {
    runners.push(
      (async () => {
        for (let job = next(); job !== undefined; job = next()) await fn(job);
      })(),
    );
  }
  await Promise.all(runners);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { parseArgs, wallMs, dueOf, caseTimers, pool, sleep, DAY_MS };

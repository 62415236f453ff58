import { performance } from 'node:perf_hooks';

/**
 * The clock datagrams are stamped with on arrival at the edge and read against in a worker
 * (milliseconds, fractional): the system's monotonic clock, the same in every thread of the
 * process. `performance.now()` is cheap but counts from an origin each thread may hold apart
 * (Node 20 happens to share the process's), and `performance.timeOrigin + performance.now()`
 * follows the wall clock as it stood when each thread started, so a clock step between two
 * thread starts would show as a standing delay. So each thread measures, once, where its
 * `performance.now()` stands on the monotonic clock (`process.hrtime`, CLOCK_MONOTONIC on Linux)
 * and adds that: one call to `performance.now()` per reading, within a microsecond across threads
 * (test/unit/edge/handoff.test.ts reads it in two threads).
 */
const offsetMs = calibrate();

export function handoffNow(): number {
  return performance.now() + offsetMs;
}

/** The offset from the reading bracketed most tightly: a thread's first calls are slow (lazy set-up). */
function calibrate(): number {
  let tightest = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let round = 0; round < 8; round++) {
    const before = performance.now();
    const monotonic = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < tightest) {
      tightest = after - before;
      offset = monotonic - (before + after) / 2;
    }
  }
  return offset;
}

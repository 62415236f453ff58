import v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

/**
 * How the SIP process sizes its JavaScript heaps. A worker's live data under 1,000 calls/s is about
 * 46 MB (a heap snapshot), but with V8's defaults its heap grew to 150-180 MB: a young generation of
 * up to 48 MB (semi-spaces of 16 MB) and an old generation allowed to reach several times what the
 * last full collection kept. Measured with bench:compare at 1,000 calls/s on the delivered path: the
 * node's PSS fell from 431-452 MB (3 runs) to 397-404 MB (2 runs), with fewer calls shed and a lower
 * p99 setup, at the same CPU per call within the runs' spread (docs/decisions.md, Performance). The
 * main thread keeps V8's default young generation: it is sized before any code runs.
 */
/** A thread's semi-space, in MB: its young generation is three of them (V8: two semi-spaces and the new large-object space). */
export const THREAD_SEMI_SPACE_MB = 4;

/** What each worker thread of the process gets: the SIP workers and, under `--role all`, the API thread. */
export const THREAD_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 3 * THREAD_SEMI_SPACE_MB };

/** After a full collection, the old generation may grow to 1.5 times what it kept before the next one. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Sets the process-wide heap growth (every isolate: the edge, the API thread, the workers). Called
 * once, before the SIP workers start; V8 reads the flag whenever it sets the next collection's limit.
 */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

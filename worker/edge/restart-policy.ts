/**
 * When a dead SIP worker is restarted (DESIGN section 3), as pure arithmetic the supervisor
 * applies (supervisor.ts) and a unit table checks: at once, unless the worker is in a crash loop
 * (it died again within `resetAfterMs` of its previous `ready`); only then does the delay grow,
 * from `initialMs` doubling up to `maxMs`. While no other worker is ready the delay is at most
 * `noneReadyMaxMs`, since a node without workers drops every call.
 */
export interface RestartBackoff {
  /** The delay after the second death in a row of a crash loop (the first restarts at once). */
  readonly initialMs: number;
  readonly maxMs: number;
  /** A worker that stayed up this long after `ready` is out of its crash loop: its next death restarts at once. */
  readonly resetAfterMs?: number;
  /** The longest delay while no other worker is ready: the node is not left without workers for long. */
  readonly noneReadyMaxMs?: number;
}

/**
 * One second while no worker runs: long enough that a worker which cannot start (database down)
 * costs at most one thread start a second, short next to what a node without workers loses.
 */
export const DEFAULT_BACKOFF: Required<RestartBackoff> = { initialMs: 100, maxMs: 30_000, resetAfterMs: 60_000, noneReadyMaxMs: 1_000 };

/**
 * The crash loop's length counting this death: one more than before, or 1 when the thread had
 * stayed up `resetAfterMs` after `ready` (`upMs` null: it never became ready, still in the loop).
 */
export function crashLoopLength(previous: number, upMs: number | null, backoff: Required<RestartBackoff>): number {
  return (upMs !== null && upMs >= backoff.resetAfterMs ? 0 : previous) + 1;
}

/** The delay before the restart: 0, initialMs, 2 * initialMs, ... up to maxMs; at most noneReadyMaxMs with no other worker ready. */
export function restartDelayMs(crashes: number, anyOtherReady: boolean, backoff: Required<RestartBackoff>): number {
  const delayMs = crashes <= 1 ? 0 : Math.min(backoff.maxMs, backoff.initialMs * 2 ** (crashes - 2));
  return anyOtherReady ? delayMs : Math.min(delayMs, backoff.noneReadyMaxMs);
}

import type { Logger } from 'pino';

/** Runs one step of ending a faulty call: a throw is logged and the next step still runs. */
export function guarded(logger: Logger, step: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    try {
      logger.error({ err: error, step }, 'ending a call after a fault: step failed');
    } catch {
      // Nothing left to tell it to: the next step still runs.
    }
  }
}

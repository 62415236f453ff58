import type { Logger } from 'pino';
import type { DropReason } from '../calls/counters';

/** Distinct throw sites logged per worker; past this, faults are only counted. */
const MAX_LOGGED_SITES = 100;

/**
 * Where a fault stops: an exception while handling one message costs that message, never the
 * worker thread and the calls on it (issue 6). Each fault is counted by kind; the first of each
 * kind at each throw site is logged with its stack, the rest only counted, so a datagram sent
 * in a loop cannot flood the log.
 */
export class Containment {
  private readonly logged = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly count: (reason: DropReason) => void,
  ) {}

  contain(reason: DropReason, error: unknown, context: Record<string, unknown> = {}): void {
    this.count(reason);
    const site = `${reason} ${throwSite(error)}`;
    if (this.logged.has(site) || this.logged.size >= MAX_LOGGED_SITES) return;
    this.logged.add(site);
    this.logger.error({ err: error, reason, ...context }, 'fault contained: message dropped, worker goes on (logged once per kind and site)');
  }

  /** A message dropped for its content, not for a fault: counted, the first of each kind noted. */
  dropped(reason: DropReason, context: Record<string, unknown> = {}): void {
    this.count(reason);
    if (this.logged.has(reason) || this.logged.size >= MAX_LOGGED_SITES) return;
    this.logged.add(reason);
    this.logger.warn({ reason, ...context }, 'message dropped (logged once per kind, counted after)');
  }
}

/** The first stack frame: what distinguishes one bug from another, whatever the input was. */
export function throwSite(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const frame = (error.stack ?? '').split('\n').find((line) => line.trimStart().startsWith('at '));
  return `${error.name} ${frame?.trim() ?? ''}`;
}

import type { WebhookAnswer } from './webhook';

/**
 * How a trunk event reaches a webhook endpoint: the body it is POSTed as, what counts as
 * delivered, and when a failed attempt is tried again. Pure: the instant and the jitter source
 * are passed in; the queue lives in PostgreSQL and the dispatcher in api/webhook-endpoint/.
 *
 * - Delivered means a 2xx answer; redirects are not followed, so a 3xx is a failure like a 5xx.
 * - Retries back off exponentially (10 s, 20 s, 40 s ... capped at 1 h) with jitter (each delay
 *   is drawn from its upper half) so endpoints that failed together are not retried together,
 *   until 24 hours after the event; an attempt that would fall later is not made: FAILED.
 */

export const WEBHOOK_DELIVERY_TIMEOUT_SECONDS = 5;

export interface DeliveryBackoff {
  /** The delay after the first failed attempt, before jitter. */
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_DELIVERY_BACKOFF: DeliveryBackoff = { initialMs: 10_000, maxMs: 3_600_000 };

/** A trunk event as the endpoint receives it. */
export interface TrunkEventFacts {
  /** `trunk_event.id`, a bigint, as a string. */
  readonly id: string;
  readonly trunkId: string;
  readonly companyId: string;
  readonly type: string;
  readonly reason: string | null;
  readonly at: Date;
}

/** The JSON body; keys in a fixed order, `at` as an ISO 8601 UTC instant. */
export function trunkEventBody(event: TrunkEventFacts): string {
  return JSON.stringify({
    id: event.id,
    trunkId: event.trunkId,
    companyId: event.companyId,
    type: event.type,
    reason: event.reason,
    at: event.at.toISOString(),
  });
}

/** What an attempt is recorded as: the HTTP status when an answer came, else the failure. */
export interface AttemptResult {
  readonly delivered: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
}

export function attemptResult(answer: WebhookAnswer): AttemptResult {
  if (answer.kind === 'answer') {
    const delivered = answer.status >= 200 && answer.status <= 299;
    return { delivered, httpStatus: answer.status, error: null };
  }
  return { delivered: false, httpStatus: null, error: answer.detail === undefined ? answer.failure : `${answer.failure}: ${answer.detail}` };
}

/** The delay before attempt `failedAttempts + 1`, after `failedAttempts` (>= 1) failures. `random` is in [0, 1). */
export function retryDelayMs(failedAttempts: number, backoff: DeliveryBackoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failedAttempts - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}


import type { DialPlanApp } from './flow/apps';

/** How an inbound call ended, from the caller's point of view. */
export enum CallOutcome {
  DELIVERED = 'DELIVERED',
  FAILED_OVER = 'FAILED_OVER',
  REJECTED = 'REJECTED',
  CANCELLED = 'CANCELLED',
}

/** Why a call was rerouted to the failover dial plan (DESIGN section 1). */
export enum FailoverReason {
  NOT_REGISTERED = 'NOT_REGISTERED',
  NO_PROVISIONAL_RESPONSE = 'NO_PROVISIONAL_RESPONSE',
  PBX_SERVER_ERROR = 'PBX_SERVER_ERROR',
  CONCURRENCY_LIMIT = 'CONCURRENCY_LIMIT',
  PBX_UNREACHABLE = 'PBX_UNREACHABLE',
  /** The trunk's health is DOWN for failing probes or calls: no attempt is made (domain/trunk-health.ts). */
  PBX_DOWN = 'PBX_DOWN',
}

/** One attempt to reach a target (the PBX, a forward target), with its final status and timings. */
export interface CallAttempt {
  readonly target: string;
  /** Null when no final response came (timeout, unreachable, cancelled before one). */
  readonly status: number | null;
  readonly startedAt: string;
  readonly firstResponseAt: string | null;
  readonly endedAt: string | null;
}

/**
 * One dial plan step a call went through, in the order taken: the plan it belongs to (a
 * GOTO_DIAL_PLAN moves a call to another), the step, its app, the exit it left by, and when it
 * was entered. `exit` is null for the step the call ended in (a HANGUP, an answered FORWARD, a
 * step the caller cancelled).
 */
export interface CallStep {
  readonly dialPlanId: string;
  readonly stepId: string;
  readonly app: DialPlanApp;
  readonly exit: string | null;
  /** ISO 8601, as attempts' times are. */
  readonly at: string;
}

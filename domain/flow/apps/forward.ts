import { toE164 } from '../../phone-number';
import { quoteInput } from '../../quote-input';
import { parseSipUri } from '../../sip-uri';
import type { AppDefinition } from '../flow';

/** Whom the forwarded call presents as its caller. */
export enum ForwardCallerId {
  /** The caller, as the INVITE came. */
  KEEP_CALLER = 'KEEP_CALLER',
  /** The dial plan's external number: the plan must have one. */
  DIAL_PLAN_NUMBER = 'DIAL_PLAN_NUMBER',
}

/** FORWARD: ring one target; the call is answered there, or the step leaves by `noAnswer`. */
export interface ForwardSettings {
  /** An E.164 number (leaves through the outbound gateway) or a `sip:` URI. */
  readonly target: string;
  readonly ringTimeoutSeconds: number;
  /** Absent in flows stored before it existed: read as KEEP_CALLER. */
  readonly callerId?: ForwardCallerId;
}

export interface ForwardDraft {
  readonly target: string;
  readonly ringTimeoutSeconds?: number | null;
  readonly callerId?: ForwardCallerId | null;
}

export const FORWARD_RING_TIMEOUT = { min: 5, max: 300, default: 30 } as const;

function normaliseTarget(target: string): string | null {
  const trimmed = target.trim();
  if (trimmed.startsWith('+')) return toE164(trimmed);
  const uri = parseSipUri(trimmed);
  return uri === null || uri.scheme !== 'sip' ? null : trimmed;
}

export const forwardApp: AppDefinition<'forward', ForwardSettings, ForwardDraft> = {
  settingsKey: 'forward',
  exits: ['noAnswer'],
  waits: true,
  normalise(draft, at, problems) {
    const target = normaliseTarget(draft.target);
    if (target === null) problems.push(`${at}.target: ${quoteInput(draft.target)} is neither an E.164 number nor a sip: URI`);
    const ringTimeoutSeconds = draft.ringTimeoutSeconds ?? FORWARD_RING_TIMEOUT.default;
    if (!Number.isInteger(ringTimeoutSeconds) || ringTimeoutSeconds < FORWARD_RING_TIMEOUT.min || ringTimeoutSeconds > FORWARD_RING_TIMEOUT.max) {
      problems.push(`${at}.ringTimeoutSeconds must be ${FORWARD_RING_TIMEOUT.min}..${FORWARD_RING_TIMEOUT.max}`);
    }
    const callerId = draft.callerId ?? ForwardCallerId.KEEP_CALLER;
    if (!Object.values(ForwardCallerId).includes(callerId)) {
      problems.push(`${at}.callerId must be one of ${Object.values(ForwardCallerId).join(', ')}`);
    }
    return target === null ? null : { target, ringTimeoutSeconds, callerId };
  },
};

/**
 * The steps of a flow that present the dial plan's external number, as `flow.steps[i]` paths
 * with their ids: a plan without an external number cannot save them, nor drop its number
 * while it has them.
 */
export function stepsPresentingPlanNumber(flow: { readonly steps: readonly { readonly id: string; readonly forward?: { readonly callerId?: string | null } | null }[] }): string[] {
  return flow.steps.flatMap((step, index) => (step.forward?.callerId === ForwardCallerId.DIAL_PLAN_NUMBER ? [`flow.steps[${index}] (${quoteInput(step.id)})`] : []));
}

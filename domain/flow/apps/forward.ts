import { toE164 } from '../../phone-number';
import { quoteInput } from '../../quote-input';
import { parseSipUri } from '../../sip-uri';
import type { AppDefinition } from '../flow';

/** FORWARD: ring one target; the call is answered there, or the step leaves by `noAnswer`. */
export interface ForwardSettings {
  /** An E.164 number (leaves through the outbound gateway) or a `sip:` URI. */
  readonly target: string;
  readonly ringTimeoutSeconds: number;
}

export interface ForwardDraft {
  readonly target: string;
  readonly ringTimeoutSeconds?: number | null;
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
    return target === null ? null : { target, ringTimeoutSeconds };
  },
};

import { toE164 } from '../../phone-number';
import { quoteInput } from '../../quote-input';
import { parseSipUri } from '../../sip-uri';
import { isUuid } from '../../uuid';
import type { AppDefinition } from '../flow';

/** How a ring group rings its targets. */
export enum RingStrategy {
  /** All at once; the first to answer wins, the others get CANCEL. */
  PARALLEL = 'PARALLEL',
  /** One after the other, in the order given. */
  SEQUENTIAL = 'SEQUENTIAL',
}

export interface RingGroupTarget {
  /** An E.164 number (via the outbound gateway), a `sip:` URI, or `trunk:<trunkId>` (that trunk's current registration). */
  readonly target: string;
  /**
   * How long this target rings. Null: SEQUENTIAL rings it RING_GROUP_TARGET_TIMEOUT.default
   * seconds, PARALLEL for the group's time. In a PARALLEL group the group's time bounds it.
   */
  readonly ringTimeoutSeconds: number | null;
}

/** RING_GROUP: ring several targets; answered there, or the step leaves by `noAnswer`. */
export interface RingGroupSettings {
  readonly strategy: RingStrategy;
  readonly targets: readonly RingGroupTarget[];
  /** Bounds a PARALLEL group; not used by a SEQUENTIAL one, whose targets each ring their own time. */
  readonly ringTimeoutSeconds: number;
}

export interface RingGroupDraft {
  readonly strategy: RingStrategy;
  readonly targets: readonly { readonly target: string; readonly ringTimeoutSeconds?: number | null }[];
  readonly ringTimeoutSeconds?: number | null;
}

export const RING_GROUP_TIMEOUT = { min: 5, max: 300, default: 30 } as const;
export const RING_GROUP_TARGET_TIMEOUT = { min: 5, max: 300, default: 20 } as const;
export const MAX_RING_GROUP_TARGETS = 20;
export const TRUNK_TARGET_PREFIX = 'trunk:';

/** The trunk id of a `trunk:<trunkId>` target, else null. */
export function trunkTargetId(target: string): string | null {
  return target.startsWith(TRUNK_TARGET_PREFIX) ? target.slice(TRUNK_TARGET_PREFIX.length) : null;
}

function normaliseTarget(target: string): string | null {
  const trimmed = target.trim();
  if (trimmed.startsWith('+')) return toE164(trimmed);
  const trunkId = trunkTargetId(trimmed);
  if (trunkId !== null) return isUuid(trunkId.toLowerCase()) ? `${TRUNK_TARGET_PREFIX}${trunkId.toLowerCase()}` : null;
  const uri = parseSipUri(trimmed);
  return uri === null || uri.scheme !== 'sip' ? null : trimmed;
}

function inRange(value: number, range: { readonly min: number; readonly max: number }): boolean {
  return Number.isInteger(value) && value >= range.min && value <= range.max;
}

export const ringGroupApp: AppDefinition<'ringGroup', RingGroupSettings, RingGroupDraft> = {
  settingsKey: 'ringGroup',
  exits: ['noAnswer'],
  waits: true,
  normalise(draft, at, problems) {
    const before = problems.length;
    if (!Object.values(RingStrategy).includes(draft.strategy)) problems.push(`${at}.strategy must be PARALLEL or SEQUENTIAL`);
    const ringTimeoutSeconds = draft.ringTimeoutSeconds ?? RING_GROUP_TIMEOUT.default;
    if (!inRange(ringTimeoutSeconds, RING_GROUP_TIMEOUT)) problems.push(`${at}.ringTimeoutSeconds must be ${RING_GROUP_TIMEOUT.min}..${RING_GROUP_TIMEOUT.max}`);
    const drafts = Array.isArray(draft.targets) ? draft.targets : [];
    if (drafts.length < 1 || drafts.length > MAX_RING_GROUP_TARGETS) problems.push(`${at}.targets: 1..${MAX_RING_GROUP_TARGETS} targets`);
    const targets = drafts.slice(0, MAX_RING_GROUP_TARGETS).map((entry, index) => {
      const target = normaliseTarget(entry.target);
      if (target === null) problems.push(`${at}.targets[${index}].target: ${quoteInput(entry.target)} is neither an E.164 number, a sip: URI nor trunk:<trunk id>`);
      const own = entry.ringTimeoutSeconds ?? null;
      if (own !== null && !inRange(own, RING_GROUP_TARGET_TIMEOUT)) {
        problems.push(`${at}.targets[${index}].ringTimeoutSeconds must be ${RING_GROUP_TARGET_TIMEOUT.min}..${RING_GROUP_TARGET_TIMEOUT.max}`);
      }
      return { target: target ?? '', ringTimeoutSeconds: own };
    });
    return problems.length > before ? null : { strategy: draft.strategy, targets, ringTimeoutSeconds };
  },
};

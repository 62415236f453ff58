import type { HealthEvidence } from '../../domain/trunk-health';
import type { AttemptOutcome, Route } from '../routing/route';

/**
 * What an attempt to the PBX says about the trunk's health (passive detection, always on). A
 * failure: no 1xx in time, a transport error, or a final 5xx the trunk lists as a failover trigger
 * (PBX_SERVER_ERROR), whether failover is on or not. A success: any other final answer (2xx, 486,
 * 404 ...): the PBX is there. No evidence: the caller cancelled, the ring timeout after a 1xx (the
 * PBX answered that it rings), or no channel was free (nothing was sent).
 */
export function callEvidence(route: Extract<Route, { kind: 'Deliver' }>, outcome: AttemptOutcome): HealthEvidence | null {
  const kind = route.trial === true ? 'Trial' : 'Call';
  switch (outcome.kind) {
    case 'Answered':
      return { kind, ok: true };
    case 'Final':
      return { kind, ok: !(outcome.status >= 500 && outcome.status <= 599 && route.trunk.failover.triggerStatusCodes.has(outcome.status)) };
    case 'NoProvisionalResponse':
    case 'Unreachable':
      return { kind, ok: false };
    case 'RingTimeout':
    case 'CallerCancelled':
    case 'ChannelsFull':
      return null;
    default: {
      const unknown: never = outcome;
      return unknown;
    }
  }
}

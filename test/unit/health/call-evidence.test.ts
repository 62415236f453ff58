import { expect } from 'chai';
import type { HealthEvidence } from '../../../domain/trunk-health';
import { callEvidence } from '../../../worker/health/call-evidence';
import type { AttemptOutcome, Route } from '../../../worker/routing/route';
import { binding, trunkConfig } from '../../support/snapshot';

describe('callEvidence(): what an attempt to the PBX says about its trunk', () => {
  const trunk = trunkConfig({ failover: { triggerStatusCodes: new Set([500, 503]) } });
  const plain: Extract<Route, { kind: 'Deliver' }> = { kind: 'Deliver', trunk, binding: binding() };
  const trial: Extract<Route, { kind: 'Deliver' }> = { ...plain, trial: true };
  const off: Extract<Route, { kind: 'Deliver' }> = { ...plain, trunk: trunkConfig({ failover: { enabled: false, triggerStatusCodes: new Set([503]) } }) };
  const rows: { name: string; route?: Extract<Route, { kind: 'Deliver' }>; outcome: AttemptOutcome; expected: HealthEvidence | null }[] = [
    { name: '200: success', outcome: { kind: 'Answered', status: 200 }, expected: { kind: 'Call', ok: true } },
    { name: '486 Busy: success (the PBX answered)', outcome: { kind: 'Final', status: 486 }, expected: { kind: 'Call', ok: true } },
    { name: '404: success', outcome: { kind: 'Final', status: 404 }, expected: { kind: 'Call', ok: true } },
    { name: '503, a trigger: failure', outcome: { kind: 'Final', status: 503 }, expected: { kind: 'Call', ok: false } },
    { name: '502, not a trigger of this trunk: success', outcome: { kind: 'Final', status: 502 }, expected: { kind: 'Call', ok: true } },
    { name: '503, a trigger with failover off: still a failure', route: off, outcome: { kind: 'Final', status: 503 }, expected: { kind: 'Call', ok: false } },
    { name: 'no 1xx in time: failure', outcome: { kind: 'NoProvisionalResponse' }, expected: { kind: 'Call', ok: false } },
    { name: 'transport error: failure', outcome: { kind: 'Unreachable', code: 'EHOSTUNREACH' }, expected: { kind: 'Call', ok: false } },
    { name: 'ring timeout after a 1xx: no evidence', outcome: { kind: 'RingTimeout' }, expected: null },
    { name: 'caller cancelled: no evidence', outcome: { kind: 'CallerCancelled' }, expected: null },
    { name: 'channels full: no evidence (nothing was sent)', outcome: { kind: 'ChannelsFull' }, expected: null },
    { name: 'a trial answered: Trial success', route: trial, outcome: { kind: 'Answered', status: 200 }, expected: { kind: 'Trial', ok: true } },
    { name: 'a trial with no 1xx: Trial failure', route: trial, outcome: { kind: 'NoProvisionalResponse' }, expected: { kind: 'Trial', ok: false } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(callEvidence(row.route ?? plain, row.outcome)).to.deep.equal(row.expected);
    });
  }
});

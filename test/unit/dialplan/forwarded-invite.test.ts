import { expect } from 'chai';
import pino from 'pino';
import { RingStrategy } from '../../../domain/flow/apps/ring-group';
import { DialPlanApp, ForwardCallerId, type Flow } from '../../../domain/flow/flow';
import { Branch } from '../../../worker/calls/branch';
import { BranchSet } from '../../../worker/calls/branch-set';
import type { RegistrationBinding } from '../../../worker/config/snapshot';
import { forwardedInvite, type Presentation } from '../../../worker/dialplan/forwarded-invite';
import { PlanRunner, type PlanCall } from '../../../worker/dialplan/runner';
import type { SipRequest } from '../../../worker/sip/message';
import { FakeClock, FakePort } from '../../support/fakes';
import { planInvite, planSnapshot, PLAN_CALL_DEFAULTS } from '../../support/plan-call';

const INVITE: SipRequest = {
  ...planInvite('forwarded-1', 'z9hG4bKf'),
  headers: { ...planInvite('forwarded-1', 'z9hG4bKf').headers, 'max-forwards': 70, route: [{ uri: 'sip:192.0.2.1:5060;lr', params: {} }] },
};
const PLAN_ID = 'plan-with-number';
const REGISTERED = '11111111-1111-4111-8111-111111111111';
const BINDING: RegistrationBinding = {
  id: 'b1',
  trunkId: REGISTERED,
  contact: 'sip:pbx@10.9.8.7:5080',
  sourceAddress: '203.0.113.9',
  sourcePort: 40000,
  expiresAt: Number.MAX_SAFE_INTEGER,
  userAgent: null,
  updatedAt: 0,
};
const KEEP: Presentation = { callerId: ForwardCallerId.KEEP_CALLER };
const PRESENT: Presentation = { callerId: ForwardCallerId.DIAL_PLAN_NUMBER, dialPlanId: PLAN_ID, stepId: 'office' };

function planCall(options: { gateway?: string | null; numbers?: Readonly<Record<string, string>>; log?: string[] } = {}): { call: PlanCall; port: FakePort; clock: FakeClock } {
  const clock = new FakeClock();
  const port = new FakePort();
  const noop = () => undefined;
  const log = options.log;
  const call: PlanCall = {
    ...PLAN_CALL_DEFAULTS,
    invite: INVITE,
    port,
    clock,
    logger: log === undefined ? pino({ level: 'silent' }) : pino({ level: 'warn' }, { write: (line: string) => log.push(line) }),
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    snapshot: planSnapshot({ outboundGateway: options.gateway === undefined ? 'sip:198.51.100.20:5070' : options.gateway }),
    startBranch: (branch) => new Branch({ ...branch, onProvisional: noop, onAnswerRetransmitted: noop }, port, clock).start(),
    startBranchSet: (set) => new BranchSet({ ...set, onProvisional: noop, onAnswerRetransmitted: noop }, port, clock).start(),
    dialPlanNumber: (dialPlanId) => options.numbers?.[dialPlanId] ?? null,
    trunkBinding: (trunkId) => (trunkId === REGISTERED ? BINDING : null),
  };
  return { call, port, clock };
}

describe('forwardedInvite: the INVITE a FORWARD or RING_GROUP target is rung with', () => {
  const rows: { name: string; target: string; gateway?: string | null; uri: string | null; destination?: unknown }[] = [
    { name: 'a sip: URI with an IP literal: as it is, sent straight there', target: 'sip:desk@198.51.100.4:5080', uri: 'sip:desk@198.51.100.4:5080', destination: { address: '198.51.100.4', port: 5080 } },
    { name: 'a sip: URI with a host name: the stack resolves it', target: 'sip:desk@pbx.example.com', uri: 'sip:desk@pbx.example.com', destination: null },
    { name: 'a number: through the outbound gateway', target: '+447911123456', uri: 'sip:+447911123456@198.51.100.20:5070', destination: { address: '198.51.100.20', port: 5070 } },
    { name: 'a number with no outbound gateway: not rung', target: '+447911123456', gateway: null, uri: null },
    { name: "a trunk: its registration's Contact, sent where the REGISTER came from", target: `trunk:${REGISTERED}`, uri: BINDING.contact, destination: { address: '203.0.113.9', port: 40000 } },
    { name: 'a trunk with no current registration: not rung', target: 'trunk:22222222-2222-4222-8222-222222222222', uri: null },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const invite = forwardedInvite(planCall({ gateway: row.gateway }).call, row.target, KEEP);
      if (row.uri === null) {
        expect(invite).to.equal(null);
        return;
      }
      expect(invite?.request.uri).to.equal(row.uri);
      expect(invite?.destination).to.deep.equal(row.destination);
    });
  }

  it('proxies the caller\'s INVITE: Max-Forwards less one, our Route entry gone, our Record-Route on top, the caller kept, the original untouched', () => {
    const request = forwardedInvite(planCall().call, 'sip:desk@198.51.100.4', KEEP)?.request;
    expect(request?.headers['max-forwards']).to.equal(69);
    expect(request?.headers.route).to.equal(undefined);
    expect(request?.headers['record-route']).to.deep.equal([{ uri: 'sip:192.0.2.1:5060;lr', params: {} }]);
    expect(request?.headers.from).to.deep.equal(INVITE.headers.from);
    expect(request?.headers['p-asserted-identity']).to.equal(undefined);
    expect(INVITE.uri).to.equal('sip:+442079460001@192.0.2.1');
    expect(INVITE.headers['max-forwards']).to.equal(70);
    expect(INVITE.headers['record-route']).to.equal(undefined);
  });

  it('DIAL_PLAN_NUMBER presents the plan number, to a trunk as to a number', () => {
    const { call } = planCall({ numbers: { [PLAN_ID]: '+442079460999' } });
    for (const target of ['+447911123456', `trunk:${REGISTERED}`]) {
      const request = forwardedInvite(call, target, PRESENT)?.request;
      expect(request?.headers['p-asserted-identity']).to.equal('<tel:+442079460999>');
      expect(request?.headers.from).to.deep.equal({ uri: 'sip:+442079460999@carrier', params: { tag: 'a' } });
    }
  });

  it('DIAL_PLAN_NUMBER on a plan without a number keeps the caller and warns once, naming the step and plan', () => {
    const log: string[] = [];
    const request = forwardedInvite(planCall({ log }).call, '+447911123456', PRESENT)?.request;
    expect(request?.headers.from).to.deep.equal(INVITE.headers.from);
    expect(request?.headers['p-asserted-identity']).to.equal(undefined);
    expect(log).to.have.length(1);
    expect(JSON.parse(log[0])).to.include({ stepId: 'office', dialPlanId: PLAN_ID });
  });

  it('a FORWARD and a RING_GROUP send the same INVITE to the same target', () => {
    const sent = (flow: Flow) => {
      const { call, port } = planCall();
      new PlanRunner({ id: PLAN_ID, flow }, call, () => undefined).start();
      return port.sent.map((entry) => ({ request: entry.request, destination: entry.destination }));
    };
    const target = '+447911123456';
    const forwarded = sent({ entryStepId: 'f', steps: [{ id: 'f', app: DialPlanApp.FORWARD, forward: { target, ringTimeoutSeconds: 20 }, exits: [] }] });
    for (const strategy of [RingStrategy.PARALLEL, RingStrategy.SEQUENTIAL]) {
      const grouped = sent({ entryStepId: 'g', steps: [{ id: 'g', app: DialPlanApp.RING_GROUP, ringGroup: { strategy, targets: [{ target, ringTimeoutSeconds: null }], ringTimeoutSeconds: 30 }, exits: [] }] });
      expect(grouped).to.deep.equal(forwarded);
    }
  });
});

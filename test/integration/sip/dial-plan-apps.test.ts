import { expect } from 'chai';
import { DateTime } from 'luxon';
import { OPERATOR_KEY } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil } from '../../support/sip-peer';

const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { id } }`;
const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];

/**
 * A company zone whose local date now differs from the UTC date, away from its local midnight by
 * at least half an hour: a time condition read in UTC would then take the other exit.
 * Pago Pago (UTC-11) is a day behind while UTC is before 11:00, Kiritimati (UTC+14) a day ahead from 10:00.
 */
function zoneAwayFromUtc(now: DateTime): string {
  const utc = now.toUTC();
  return utc.hour * 60 + utc.minute < 10 * 60 + 30 ? 'Pacific/Pago_Pago' : 'Pacific/Kiritimati';
}

function clock(minutes: number): string {
  const bounded = Math.max(0, Math.min(24 * 60, minutes));
  return `${String(Math.floor(bounded / 60)).padStart(2, '0')}:${String(bounded % 60).padStart(2, '0')}`;
}

describe('dial plan apps at the SIP level (real failover on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let first: SipPeer;
  let second: SipPeer;
  let firstSeen: ReturnType<typeof actAsPbx>;
  let secondSeen: ReturnType<typeof actAsPbx>;

  before(async () => {
    h = await SipHarness.start();
    first = await SipPeer.start('first');
    second = await SipPeer.start('second');
    firstSeen = actAsPbx(first, () => ({ kind: 'answer' }));
    secondSeen = actAsPbx(second, () => ({ kind: 'answer' }));
  });
  after(async () => {
    first.stop();
    second.stop();
    await h.stop();
  });

  const forward = (id: string, peer: SipPeer) => ({ id, app: 'FORWARD', forward: { target: `sip:${peer.name}@127.0.0.1:${peer.port}`, ringTimeoutSeconds: 5 } });
  const condition = (app: string, key: string, settings: unknown) => ({
    entryStepId: 'check',
    steps: [
      { id: 'check', app, [key]: settings, exits: [{ on: 'match', stepId: 'first' }, { on: 'noMatch', stepId: 'second' }] },
      forward('first', first),
      forward('second', second),
    ],
  });

  /** Places a call to `did`; it fails over (no PBX registered) and must be answered by `peer`. */
  async function answeredBy(did: string, peer: SipPeer): Promise<void> {
    const before = { first: firstSeen.invites.length, second: secondSeen.invites.length };
    const call = placeCall(h.carrier, h.proxy, did);
    expect((await call.final()).status).to.equal(200);
    expect({ first: firstSeen.invites.length - before.first, second: secondSeen.invites.length - before.second }).to.deep.equal(
      peer === first ? { first: 1, second: 0 } : { first: 0, second: 1 },
    );
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED', final_status: 200 });
    const seen = peer === first ? firstSeen : secondSeen;
    const byes = seen.byes.length;
    await call.bye();
    await waitUntil(() => seen.byes.length > byes, 3000, `BYE at ${peer.name}`);
  }

  it("TIME_CONDITION: the rule read in the company's time zone picks the FORWARD target", async () => {
    const now = DateTime.now();
    const timeZone = zoneAwayFromUtc(now);
    const local = now.setZone(timeZone);
    const minute = local.hour * 60 + local.minute;
    const around = { weekdays: [WEEKDAYS[local.weekday - 1]], from: clock(minute - 25), to: clock(minute + 25) };
    const utcDay = { ...around, weekdays: [WEEKDAYS[now.toUTC().weekday - 1]] };
    const did = '+442079465001';
    const trunk = await h.trunk({ username: 'time-pbx', number: did, flow: condition('TIME_CONDITION', 'timeCondition', { rules: [around] }) });
    await h.applying(() => h.api.ok(OPERATOR_KEY, `mutation ($id: ID!) { updateCompany(id: $id, input: { timeZone: "${timeZone}" }) { id } }`, { id: trunk.companyId }), 'company', trunk.companyId);
    await answeredBy(did, first);

    const flows = [
      condition('TIME_CONDITION', 'timeCondition', { rules: [around], holidays: [{ from: local.toISODate(), to: local.toISODate() }] }),
      condition('TIME_CONDITION', 'timeCondition', { rules: [utcDay] }),
    ];
    for (const flow of flows) {
      await h.applying(() => h.api.ok(trunk.key, UPDATE, { id: trunk.planId, input: { flow } }), 'dial_plan', trunk.planId);
      await answeredBy(did, second);
    }
  });

  it("CALLER_CONDITION: the caller's number picks the FORWARD target", async () => {
    const did = '+442079465002';
    // placeCall's caller is +4930901820.
    const trunk = await h.trunk({ username: 'caller-pbx', number: did, flow: condition('CALLER_CONDITION', 'callerCondition', { prefixes: ['+4930'] }) });
    await answeredBy(did, first);
    await h.applying(() => h.api.ok(trunk.key, UPDATE, { id: trunk.planId, input: { flow: condition('CALLER_CONDITION', 'callerCondition', { prefixes: ['+44'], anonymous: true }) } }), 'dial_plan', trunk.planId);
    await answeredBy(did, second);
  });

  it('GOTO_DIAL_PLAN: a chain of plans ends at a FORWARD', async () => {
    const did = '+442079465003';
    const trunk = await h.trunk({ username: 'goto-pbx', number: did, flow: { entryStepId: 'closed', steps: [{ id: 'closed', app: 'HANGUP', hangup: { status: 480 } }] } });
    const plan = async (name: string, internalNumber: string, flow: unknown): Promise<string> =>
      (await h.api.ok<{ createDialPlan: { id: string } }>(trunk.key, CREATE, { input: { companyId: trunk.companyId, name, internalNumber, flow } })).createDialPlan.id;
    const last = await plan('Second line', '901', { entryStepId: 'ring', steps: [forward('ring', second)] });
    const middle = await plan('Hand on', '902', { entryStepId: 'go', steps: [{ id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: last } }] });
    await h.applying(
      () => h.api.ok(trunk.key, UPDATE, { id: trunk.planId, input: { flow: { entryStepId: 'go', steps: [{ id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: middle } }] } } }),
      'dial_plan',
      trunk.planId,
    );
    await answeredBy(did, second);
  });
});

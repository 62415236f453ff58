import { expect } from 'chai';
import { DateTime } from 'luxon';
import { OPERATOR_KEY } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type CarrierCall, type PbxMode } from '../../support/sip-peer';
import { MAX_STEPS_PER_CALL } from '../../../worker/dialplan/runner';

/*
 * simulateCall checked against the real call for the same inputs: one SIP role and the API on one
 * database, real `sip` stacks on loopback as carrier, PBX and forward targets. For each row the
 * call is placed, its record read through `calls`, and simulateCall asked with the same number,
 * caller, the call's start as `at`, and assumptions that describe what the PBX really did.
 */

const SIMULATE = `query ($input: SimulateCallInput!) {
  simulateCall(input: $input) { trunk { id name } decision failoverReason status steps { dialPlanId stepId app exit } } }`;
const CALLS = `query { calls(first: 200) { edges { node {
  callId trunk { id name } outcome failoverReason finalStatus startedAt attempts { target status } steps { dialPlanId stepId app exit at } } } } }`;
const CREATE_PLAN = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`;
const UPDATE_PLAN = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { id } }`;
const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];

interface SimulatedStep {
  dialPlanId: string;
  stepId: string;
  app: string;
  exit: string | null;
}

interface Simulated {
  trunk: { id: string; name: string } | null;
  decision: string;
  failoverReason: string | null;
  status: number | null;
  steps: SimulatedStep[];
}

interface Recorded {
  callId: string;
  trunk: { id: string; name: string } | null;
  outcome: string;
  failoverReason: string | null;
  finalStatus: number | null;
  startedAt: string;
  attempts: { target: string; status: number | null }[];
  steps: (SimulatedStep & { at: string })[];
}

const DECISION_OF: Readonly<Record<string, string>> = { DELIVERED: 'DELIVER', FAILED_OVER: 'FAILOVER', REJECTED: 'REJECT' };

/**
 * A call record as simulateCall would have answered it: the outcome as a decision; as status, the
 * one the caller got when no dial plan ran, else the PBX's own final status (a failover after a
 * PBX error) or null; the steps without their times.
 */
function asSimulated(record: Recorded, pbxContact: string | null): Simulated {
  const pbxStatus = record.attempts.find((attempt) => attempt.target === pbxContact)?.status ?? null;
  return {
    trunk: record.trunk,
    decision: DECISION_OF[record.outcome] ?? record.outcome,
    failoverReason: record.failoverReason,
    status: record.steps.length > 0 ? pbxStatus : record.finalStatus,
    steps: record.steps.map(({ dialPlanId, stepId, app, exit }) => ({ dialPlanId, stepId, app, exit })),
  };
}

/** A company-time rule around now (25 minutes either side, today), and one for tomorrow only. */
function hoursAroundNow(timeZone: string): { now: Record<string, unknown>; tomorrow: Record<string, unknown> } {
  const local = DateTime.now().setZone(timeZone);
  const minute = local.hour * 60 + local.minute;
  const clock = (minutes: number) => {
    const bounded = Math.max(0, Math.min(24 * 60, minutes));
    return `${String(Math.floor(bounded / 60)).padStart(2, '0')}:${String(bounded % 60).padStart(2, '0')}`;
  };
  return {
    now: { weekdays: [WEEKDAYS[local.weekday - 1]], from: clock(minute - 25), to: clock(minute + 25) },
    tomorrow: { weekdays: [WEEKDAYS[local.weekday % 7]], from: '00:00', to: '24:00' },
  };
}

const hangup = (id: string, status: number) => ({ id, app: 'HANGUP', hangup: { status } });
const forward = (id: string, target: string, noAnswer: string) => ({ id, app: 'FORWARD', forward: { target, ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: noAnswer }] });

/** What the real call needs besides its number: the company key, the trunk's PBX (if registered), a call to hold. */
interface Fixture {
  readonly key: string;
  readonly trunkId: string | null;
  readonly pbxContact: string | null;
  /** Channels full: a call the PBX answered is held while the row's call is placed. */
  readonly holdCall?: boolean;
}

interface Row {
  readonly name: string;
  readonly did: string;
  /** The Request-URI user of the real call, when it is not `did` as it is. */
  readonly dialled?: string;
  /** The From user part; null: `anonymous`, and no caller given to simulateCall. */
  readonly caller?: string | null;
  readonly assume: Record<string, unknown>;
  /** What both must say, the path as `stepId:exit`, and the final status the carrier got. */
  readonly expected: { decision: string; failoverReason: string | null; status: number | null; path: string[]; callerGets: number };
}

const D = {
  answer: '+442079468001',
  hours: '+442079468002',
  closed: '+442079468003',
  error503: '+442079468004',
  error500: '+442079468005',
  busy: '+442079468006',
  silent: '+442079468007',
  full: '+442079468008',
  chain: '+442079468009',
  group: '+442079468010',
  loop: '+442079468011',
  planNumber: '+442079468012',
  rejectUnregistered: '+442079468013',
  reject503: '+442079468014',
  rejectSilent: '+442079468015',
  rejectFull: '+442079468016',
} as const;

const failover = (reason: string, status: number | null, path: string[], callerGets: number) => ({ decision: 'FAILOVER', failoverReason: reason, status, path, callerGets });
const reject = (reason: string, status: number) => ({ decision: 'REJECT', failoverReason: reason, status, path: [], callerGets: status });
const BUSY_PATH = ['mobile:noAnswer', 'busy:null'];

const ROWS: readonly Row[] = [
  { name: 'a registered PBX answers: DELIVER 200', did: D.answer, assume: { registered: true, pbxAnswers: 'DELIVERED' }, expected: { decision: 'DELIVER', failoverReason: null, status: 200, path: [], callerGets: 200 } },
  {
    name: 'not registered, within hours, a listed caller: TIME_CONDITION, CALLER_CONDITION, FORWARD unanswered, HANGUP',
    did: D.hours,
    caller: '+4930901820',
    assume: { registered: false },
    expected: failover('NOT_REGISTERED', null, ['hours:match', 'vip:match', 'mobile:noAnswer', 'closed:null'], 603),
  },
  { name: 'the same plan, a caller not listed: CALLER_CONDITION noMatch', did: D.hours, caller: '+33142685300', assume: { registered: false }, expected: failover('NOT_REGISTERED', null, ['hours:match', 'vip:noMatch', 'closed:null'], 603) },
  { name: 'the same plan, an anonymous caller, registration as it is now', did: D.hours, caller: null, assume: {}, expected: failover('NOT_REGISTERED', null, ['hours:match', 'vip:match', 'mobile:noAnswer', 'closed:null'], 603) },
  { name: 'the same plan, a national caller number read in the country dialled', did: D.hours, caller: '02079460123', assume: { registered: false }, expected: failover('NOT_REGISTERED', null, ['hours:match', 'vip:match', 'mobile:noAnswer', 'closed:null'], 603) },
  {
    name: 'the same plan, a caller written with a percent-escape as the From header carries it (%2B for +)',
    did: D.hours,
    caller: '%2B4930901820',
    assume: { registered: false },
    expected: failover('NOT_REGISTERED', null, ['hours:match', 'vip:match', 'mobile:noAnswer', 'closed:null'], 603),
  },
  { name: 'not registered, outside the hours: TIME_CONDITION noMatch', did: D.closed, caller: '+4930901820', assume: { registered: false }, expected: failover('NOT_REGISTERED', null, ['hours:noMatch', 'closed:null'], 603) },
  { name: 'the PBX answers 503 on a trunk failing over on 503: FAILOVER PBX_SERVER_ERROR 503', did: D.error503, assume: { registered: true, pbxAnswers: 'SERVER_ERROR' }, expected: failover('PBX_SERVER_ERROR', 503, BUSY_PATH, 486) },
  { name: 'the PBX answers 500 on a trunk with the default trigger codes', did: D.error500, assume: { registered: true, pbxAnswers: 'SERVER_ERROR' }, expected: failover('PBX_SERVER_ERROR', 500, BUSY_PATH, 486) },
  { name: 'the PBX answers 486: DELIVER, relayed, no failover', did: D.busy, assume: { registered: true, pbxAnswers: 'BUSY' }, expected: { decision: 'DELIVER', failoverReason: null, status: 486, path: [], callerGets: 486 } },
  { name: 'the PBX stays silent past the 1 s no-1xx timeout: FAILOVER NO_PROVISIONAL_RESPONSE', did: D.silent, assume: { registered: true, pbxAnswers: 'SILENT' }, expected: failover('NO_PROVISIONAL_RESPONSE', null, BUSY_PATH, 486) },
  { name: 'the one channel held by a call: FAILOVER CONCURRENCY_LIMIT', did: D.full, assume: { channelsFull: true }, expected: failover('CONCURRENCY_LIMIT', null, BUSY_PATH, 486) },
  { name: 'a GOTO_DIAL_PLAN chain through two plans to a FORWARD', did: D.chain, assume: { registered: false }, expected: failover('NOT_REGISTERED', null, ['go:null', 'on:null', 'mobile:noAnswer', 'busy:null'], 486) },
  { name: 'a PARALLEL ring group of targets answering 480: noAnswer', did: D.group, assume: { registered: false }, expected: failover('NOT_REGISTERED', null, ['group:noAnswer', 'busy:null'], 486) },
  {
    name: `a FORWARD whose noAnswer leads back to itself: cut after ${MAX_STEPS_PER_CALL} steps, 480`,
    did: D.loop,
    assume: { registered: false },
    expected: failover('NOT_REGISTERED', null, Array.from({ length: MAX_STEPS_PER_CALL }, () => 'again:noAnswer'), 480),
  },
  { name: "a dial plan's own number: DELIVER with no trunk, the plan's path", did: D.planNumber, caller: '+4930901820', assume: {}, expected: { decision: 'DELIVER', failoverReason: null, status: null, path: ['vip:match', 'mobile:noAnswer', 'busy:null'], callerGets: 486 } },
  {
    name: 'the same, a caller with a user parameter as carriers send it (;npdi)',
    did: D.planNumber,
    caller: '+4930901820;npdi',
    assume: {},
    expected: { decision: 'DELIVER', failoverReason: null, status: null, path: ['vip:match', 'mobile:noAnswer', 'busy:null'], callerGets: 486 },
  },
  {
    name: 'a Request-URI user with a parameter (;npdi) names the same number',
    did: D.answer,
    dialled: `${D.answer};npdi`,
    assume: { registered: true, pbxAnswers: 'DELIVERED' },
    expected: { decision: 'DELIVER', failoverReason: null, status: 200, path: [], callerGets: 200 },
  },
  { name: 'failover disabled, not registered: REJECT 404', did: D.rejectUnregistered, assume: { registered: false }, expected: reject('NOT_REGISTERED', 404) },
  { name: "failover disabled, the PBX answers 503: REJECT with the PBX's 503", did: D.reject503, assume: { registered: true, pbxAnswers: 'SERVER_ERROR' }, expected: reject('PBX_SERVER_ERROR', 503) },
  { name: 'failover disabled, the PBX silent: REJECT 408', did: D.rejectSilent, assume: { registered: true, pbxAnswers: 'SILENT' }, expected: reject('NO_PROVISIONAL_RESPONSE', 408) },
  { name: 'failover disabled, channels full: REJECT 503', did: D.rejectFull, assume: { registered: true, channelsFull: true }, expected: reject('CONCURRENCY_LIMIT', 503) },
];

describe('simulateCall against the real call (SIP role and API on one database)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  const peers: SipPeer[] = [];
  const fixtures = new Map<string, Fixture>();
  let desk: SipPeer;

  async function peer(name: string, mode: PbxMode): Promise<SipPeer> {
    const started = await SipPeer.start(name);
    peers.push(started);
    actAsPbx(started, () => mode);
    return started;
  }

  /** A trunk for `did` with its own company and failover plan, and a PBX registered for it when `pbx` is given. */
  async function trunkFixture(did: string, options: { pbx?: PbxMode; flow?: Record<string, unknown>; failover?: Record<string, unknown>; maxConcurrentCalls?: number; holdCall?: boolean }) {
    const username = `sim-${did.slice(-4)}`;
    const flow = options.flow ?? { entryStepId: 'mobile', steps: [forward('mobile', desk.uri, 'busy'), hangup('busy', 486)] };
    const trunk = await h.trunk({ username, number: did, flow, failover: options.failover, maxConcurrentCalls: options.maxConcurrentCalls });
    let pbxContact: string | null = null;
    if (options.pbx !== undefined) {
      const pbx = await peer(username, options.pbx);
      await h.registerPbx(pbx, username);
      pbxContact = pbx.uri;
    }
    fixtures.set(did, { key: trunk.key, trunkId: trunk.trunkId, pbxContact, holdCall: options.holdCall });
    return trunk;
  }

  async function createPlan(key: string, input: Record<string, unknown>): Promise<string> {
    return (await h.api.ok<{ createDialPlan: { id: string } }>(key, CREATE_PLAN, { input })).createDialPlan.id;
  }

  before(async () => {
    h = await SipHarness.start();
    desk = await peer('desk', { kind: 'reject', status: 480 });
    const deskB = await peer('desk-b', { kind: 'reject', status: 480 });
    const hours = hoursAroundNow('Europe/Berlin');
    const business = (rule: Record<string, unknown>) => ({
      entryStepId: 'hours',
      steps: [
        { id: 'hours', app: 'TIME_CONDITION', timeCondition: { rules: [rule] }, exits: [{ on: 'match', stepId: 'vip' }, { on: 'noMatch', stepId: 'closed' }] },
        { id: 'vip', app: 'CALLER_CONDITION', callerCondition: { prefixes: ['+4930', '+44207946'], anonymous: true }, exits: [{ on: 'match', stepId: 'mobile' }, { on: 'noMatch', stepId: 'closed' }] },
        forward('mobile', desk.uri, 'closed'),
        hangup('closed', 603),
      ],
    });
    await trunkFixture(D.answer, { pbx: { kind: 'answer' } });
    await trunkFixture(D.hours, { flow: business(hours.now) });
    await trunkFixture(D.closed, { flow: business(hours.tomorrow) });
    await trunkFixture(D.error503, { pbx: { kind: 'reject', status: 503 }, failover: { triggerStatusCodes: [503] } });
    await trunkFixture(D.error500, { pbx: { kind: 'reject', status: 500 } });
    await trunkFixture(D.busy, { pbx: { kind: 'reject', status: 486 } });
    await trunkFixture(D.silent, { pbx: { kind: 'silent' }, failover: { noProvisionalTimeoutSeconds: 1 } });
    await trunkFixture(D.full, { pbx: { kind: 'answer' }, maxConcurrentCalls: 1, holdCall: true });
    await trunkFixture(D.group, {
      flow: { entryStepId: 'group', steps: [{ id: 'group', app: 'RING_GROUP', ringGroup: { strategy: 'PARALLEL', targets: [{ target: desk.uri }, { target: deskB.uri }] }, exits: [{ on: 'noAnswer', stepId: 'busy' }] }, hangup('busy', 486)] },
    });
    await trunkFixture(D.loop, { flow: { entryStepId: 'again', steps: [forward('again', desk.uri, 'again')] } });
    const disabled = { enabled: false, triggerStatusCodes: [503], noProvisionalTimeoutSeconds: 1 };
    await trunkFixture(D.rejectUnregistered, { failover: disabled });
    await trunkFixture(D.reject503, { pbx: { kind: 'reject', status: 503 }, failover: disabled });
    await trunkFixture(D.rejectSilent, { pbx: { kind: 'silent' }, failover: disabled });
    await trunkFixture(D.rejectFull, { pbx: { kind: 'answer' }, failover: disabled, maxConcurrentCalls: 1, holdCall: true });

    const chain = await trunkFixture(D.chain, { flow: { entryStepId: 'closed', steps: [hangup('closed', 480)] } });
    const last = await createPlan(chain.key, { companyId: chain.companyId, name: 'Last', internalNumber: '901', flow: { entryStepId: 'mobile', steps: [forward('mobile', desk.uri, 'busy'), hangup('busy', 486)] } });
    const middle = await createPlan(chain.key, { companyId: chain.companyId, name: 'Hand on', internalNumber: '902', flow: { entryStepId: 'on', steps: [{ id: 'on', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: last } }] } });
    const gotoFlow = { entryStepId: 'go', steps: [{ id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: middle } }] };
    await h.applying(() => h.api.ok(chain.key, UPDATE_PLAN, { id: chain.planId, input: { flow: gotoFlow } }), 'dial_plan', chain.planId);

    const company = await h.api.company('Own number company');
    const planFlow = { entryStepId: 'vip', steps: [{ id: 'vip', app: 'CALLER_CONDITION', callerCondition: { prefixes: ['+4930'] }, exits: [{ on: 'match', stepId: 'mobile' }] }, forward('mobile', desk.uri, 'busy'), hangup('busy', 486)] };
    await h.applying(() => createPlan(company.key, { companyId: company.id, name: 'Own number', internalNumber: '100', externalNumber: D.planNumber, flow: planFlow }), 'did', D.planNumber);
    fixtures.set(D.planNumber, { key: company.key, trunkId: null, pbxContact: null });
  });
  after(async () => {
    for (const started of peers) started.stop();
    await h.stop();
  });

  /** The call record of `callId` as `calls` lists it, once written. */
  async function recordOf(callId: string): Promise<Recorded> {
    return waitUntil(async () => {
      const { calls } = await h.api.ok<{ calls: { edges: { node: Recorded }[] } }>(OPERATOR_KEY, CALLS);
      return calls.edges.find((edge) => edge.node.callId === callId)?.node;
    }, 5000, `the call record of ${callId}`);
  }

  async function simulate(key: string, input: Record<string, unknown>): Promise<Simulated> {
    return (await h.api.ok<{ simulateCall: Simulated }>(key, SIMULATE, { input })).simulateCall;
  }

  /** A call to `did` the PBX answered, holding the trunk's channel until its BYE. */
  async function heldCall(did: string): Promise<CarrierCall> {
    const held = placeCall(h.carrier, h.proxy, did);
    expect((await held.final()).status).to.equal(200, 'the held call is answered');
    return held;
  }

  for (const row of ROWS) {
    it(row.name, async () => {
      const fixture = fixtures.get(row.did);
      if (fixture === undefined) throw new Error(`no fixture for ${row.did}`);
      const held = fixture.holdCall === true ? await heldCall(row.did) : null;
      const call = placeCall(h.carrier, h.proxy, row.dialled ?? row.did, { caller: row.caller === null ? 'anonymous' : row.caller });
      const final = await call.final();
      const record = await recordOf(call.callId);
      const input = { did: row.did, at: record.startedAt, assume: row.assume, ...(row.caller == null ? {} : { caller: row.caller }) };
      const simulated = await simulate(fixture.key, input);

      expect(simulated).to.deep.equal(asSimulated(record, fixture.pbxContact), 'simulateCall and the call record agree');
      expect(simulated.trunk?.id ?? null).to.equal(fixture.trunkId);
      expect(final.status).to.equal(record.finalStatus, 'the record has the status the carrier got');
      const { decision, failoverReason, status } = simulated;
      const path = simulated.steps.map((step) => `${step.stepId}:${String(step.exit)}`);
      expect({ decision, failoverReason, status, path, callerGets: final.status }).to.deep.equal(row.expected);

      if (final.status === 200) await call.bye();
      if (held !== null) await held.bye();
    });
  }

  it('an unknown number: simulateCall answers NOT_FOUND, the real call gets 404 and a record with no trunk', async () => {
    const did = '+442079468099';
    const call = placeCall(h.carrier, h.proxy, did);
    expect((await call.final()).status).to.equal(404);
    const record = await recordOf(call.callId);
    expect(record).to.deep.include({ trunk: null, outcome: 'REJECTED', failoverReason: null, finalStatus: 404, steps: [] });
    expect(await h.api.errorCode(OPERATOR_KEY, SIMULATE, { input: { did, at: record.startedAt } })).to.equal('NOT_FOUND');
  });
});

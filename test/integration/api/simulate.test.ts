import { expect } from 'chai';
import { TestApi } from '../../support/api';

/*
 * simulateCall: the routing decision under each assumption, the path through the failover
 * plan with conditions evaluated at `at`, GOTO_DIAL_PLAN followed, and the company scope.
 */

const SIMULATE = `query ($input: SimulateCallInput!) {
  simulateCall(input: $input) { trunk { id name } decision failoverReason status steps { dialPlanId stepId app exit } }
}`;
const CREATE_PLAN = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`;
const CREATE_TRUNK = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`;

interface Simulated {
  trunk: { id: string; name: string } | null;
  decision: string;
  failoverReason: string | null;
  status: number | null;
  steps: { dialPlanId: string; stepId: string; app: string; exit: string | null }[];
}

const FAILOVER_DID = '+442079461000';
const NO_FAILOVER_DID = '+442079461001';
const ERROR_503_DID = '+442079461002';
const VIP = '+4915112345678';
/** 22:00 in Berlin on a Tuesday, and on Christmas Eve (a Thursday, declared a holiday). */
const WEEKDAY_22H = '2026-12-22T21:00:00Z';
const HOLIDAY_22H = '2026-12-24T21:00:00Z';

describe('simulateCall', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let other: { id: string; key: string };
  let planA: string;
  let planB: string;

  async function simulate(input: Record<string, unknown>, key = company.key): Promise<Simulated> {
    return (await api.ok<{ simulateCall: Simulated }>(key, SIMULATE, { input })).simulateCall;
  }

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Simulated');
    other = await api.company('Other');
    planB = (
      await api.ok<{ createDialPlan: { id: string } }>(company.key, CREATE_PLAN, {
        input: { companyId: company.id, name: 'Closed', internalNumber: '200', flow: { entryStepId: 'bye', steps: [{ id: 'bye', app: 'HANGUP', hangup: { status: 480 } }] } },
      })
    ).createDialPlan.id;
    planA = (
      await api.ok<{ createDialPlan: { id: string } }>(company.key, CREATE_PLAN, {
        input: {
          companyId: company.id,
          name: 'Office hours',
          internalNumber: '100',
          flow: {
            entryStepId: 'hours',
            steps: [
              {
                id: 'hours',
                app: 'TIME_CONDITION',
                timeCondition: { rules: [{ weekdays: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], from: '08:00', to: '23:00' }], holidays: [{ from: '2026-12-24', to: '2026-12-26' }] },
                exits: [
                  { on: 'match', stepId: 'desk' },
                  { on: 'noMatch', stepId: 'closed' },
                ],
              },
              { id: 'desk', app: 'FORWARD', forward: { target: '+442079460000' }, exits: [{ on: 'noAnswer', stepId: 'vip' }] },
              {
                id: 'vip',
                app: 'CALLER_CONDITION',
                callerCondition: { numbers: [VIP] },
                exits: [
                  { on: 'match', stepId: 'ask' },
                  { on: 'noMatch', stepId: 'closed' },
                ],
              },
              { id: 'ask', app: 'WEBHOOK', webhook: { url: 'https://hooks.example.com/route', exits: [] } },
              { id: 'closed', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: planB } },
            ],
          },
        },
      })
    ).createDialPlan.id;
    const trunk = (name: string, username: string, did: string, failover: Record<string, unknown>) =>
      api.ok(company.key, CREATE_TRUNK, {
        input: { companyId: company.id, name, sipUsername: username, sipPassword: 'long enough secret', inboundNumbers: [did], maxConcurrentCalls: 2, failover },
      });
    await trunk('Main PBX', 'sim-main', FAILOVER_DID, { enabled: true, dialPlanId: planA });
    await trunk('No failover', 'sim-plain', NO_FAILOVER_DID, { enabled: false });
    await trunk('Only 503', 'sim-503', ERROR_503_DID, { enabled: true, dialPlanId: planB, triggerStatusCodes: [503] });
  });
  after(async () => {
    await api.stop();
  });

  const weekdayPath = () => [
    { dialPlanId: planA, stepId: 'hours', app: 'TIME_CONDITION', exit: 'match' },
    { dialPlanId: planA, stepId: 'desk', app: 'FORWARD', exit: 'noAnswer' },
    { dialPlanId: planA, stepId: 'vip', app: 'CALLER_CONDITION', exit: 'match' },
    { dialPlanId: planA, stepId: 'ask', app: 'WEBHOOK', exit: null },
  ];

  it('DELIVERED with the PBX registered: delivered to the trunk, 200, no steps', async () => {
    const result = await simulate({ did: FAILOVER_DID, assume: { registered: true, pbxAnswers: 'DELIVERED' } });
    expect(result).to.deep.include({ decision: 'DELIVER', failoverReason: null, status: 200, steps: [] });
    expect(result.trunk?.name).to.equal('Main PBX');
  });

  it('registration as it is now: no binding stored, so NOT_REGISTERED', async () => {
    const result = await simulate({ did: FAILOVER_DID, at: WEEKDAY_22H, caller: VIP });
    expect(result).to.deep.include({ decision: 'FAILOVER', failoverReason: 'NOT_REGISTERED', status: null });
    expect(result.steps).to.deep.equal(weekdayPath());
  });

  for (const [assume, reason, status] of [
    [{ registered: false }, 'NOT_REGISTERED', null],
    [{ registered: true, pbxAnswers: 'SILENT' }, 'NO_PROVISIONAL_RESPONSE', null],
    [{ registered: true, pbxAnswers: 'SERVER_ERROR' }, 'PBX_SERVER_ERROR', 500],
    [{ registered: true, channelsFull: true }, 'CONCURRENCY_LIMIT', null],
  ] as const) {
    it(`${JSON.stringify(assume)}: FAILOVER with ${reason}`, async () => {
      const result = await simulate({ did: FAILOVER_DID, at: WEEKDAY_22H, caller: VIP, assume });
      expect(result).to.deep.include({ decision: 'FAILOVER', failoverReason: reason, status });
      expect(result.steps).to.deep.equal(weekdayPath());
    });
  }

  it('a trunk known down: FAILOVER with PBX_DOWN as a real call would; assuming the PBX takes it as up', async () => {
    const did = '+442079461009';
    const created = await api.ok<{ createTrunk: { id: string } }>(company.key, CREATE_TRUNK, {
      input: { companyId: company.id, name: 'Down PBX', sipUsername: 'sim-down', sipPassword: 'long enough secret', inboundNumbers: [did], maxConcurrentCalls: 2, failover: { enabled: true, dialPlanId: planA } },
    });
    const trunkId = created.createTrunk.id;
    await api.dataSource.query(
      `INSERT INTO registration (trunk_id, contact, source_address, source_port, expires_at) VALUES ($1, 'sip:pbx@192.0.2.9', '192.0.2.9', 5060, now() + interval '1 hour')`,
      [trunkId],
    );
    expect(await simulate({ did, at: WEEKDAY_22H, caller: VIP })).to.deep.include({ decision: 'DELIVER', failoverReason: null });
    await api.dataSource.query(`UPDATE trunk_health SET state = 'DOWN', reason = 'CALLS_FAILING', registered = true WHERE trunk_id = $1`, [trunkId]);
    const down = await simulate({ did, at: WEEKDAY_22H, caller: VIP });
    expect(down).to.deep.include({ decision: 'FAILOVER', failoverReason: 'PBX_DOWN', status: null });
    expect(down.steps).to.deep.equal(weekdayPath());
    expect(await simulate({ did, assume: { pbxAnswers: 'DELIVERED' } })).to.deep.include({ decision: 'DELIVER', failoverReason: null, status: 200 });
  });

  it("SERVER_ERROR on a trunk that only fails over on 503: the PBX's status is its first trigger code", async () => {
    const result = await simulate({ did: ERROR_503_DID, assume: { registered: true, pbxAnswers: 'SERVER_ERROR' } });
    expect(result).to.deep.include({ decision: 'FAILOVER', failoverReason: 'PBX_SERVER_ERROR', status: 503 });
    expect(result.steps).to.deep.equal([{ dialPlanId: planB, stepId: 'bye', app: 'HANGUP', exit: null }]);
  });

  it('BUSY: delivered, the 486 relayed, no failover', async () => {
    const result = await simulate({ did: FAILOVER_DID, assume: { registered: true, pbxAnswers: 'BUSY' } });
    expect(result).to.deep.include({ decision: 'DELIVER', failoverReason: null, status: 486, steps: [] });
  });

  for (const [assume, reason, status] of [
    [{ registered: false }, 'NOT_REGISTERED', 404],
    [{ registered: true, pbxAnswers: 'SILENT' }, 'NO_PROVISIONAL_RESPONSE', 408],
    [{ registered: true, pbxAnswers: 'SERVER_ERROR' }, 'PBX_SERVER_ERROR', 500],
    [{ registered: true, channelsFull: true }, 'CONCURRENCY_LIMIT', 503],
  ] as const) {
    it(`failover disabled, ${JSON.stringify(assume)}: REJECT with ${status}`, async () => {
      const result = await simulate({ did: NO_FAILOVER_DID, assume });
      expect(result).to.deep.include({ decision: 'REJECT', failoverReason: reason, status, steps: [] });
      expect(result.trunk?.name).to.equal('No failover');
    });
  }

  it('22:00 on a weekday: within hours; on a holiday: closed, through the GOTO into the other plan', async () => {
    const weekday = await simulate({ did: FAILOVER_DID, at: WEEKDAY_22H, caller: VIP, assume: { registered: false } });
    expect(weekday.steps).to.deep.equal(weekdayPath());
    const holiday = await simulate({ did: FAILOVER_DID, at: HOLIDAY_22H, caller: VIP, assume: { registered: false } });
    expect(holiday.steps).to.deep.equal([
      { dialPlanId: planA, stepId: 'hours', app: 'TIME_CONDITION', exit: 'noMatch' },
      { dialPlanId: planA, stepId: 'closed', app: 'GOTO_DIAL_PLAN', exit: null },
      { dialPlanId: planB, stepId: 'bye', app: 'HANGUP', exit: null },
    ]);
  });

  it('a caller the CALLER_CONDITION does not list: noMatch, on through the GOTO chain', async () => {
    const result = await simulate({ did: FAILOVER_DID, at: WEEKDAY_22H, caller: '+442079469999', assume: { registered: false } });
    expect(result.steps.map((step) => [step.stepId, step.exit])).to.deep.equal([
      ['hours', 'match'],
      ['desk', 'noAnswer'],
      ['vip', 'noMatch'],
      ['closed', null],
      ['bye', null],
    ]);
  });

  it("another company's number answers NOT_FOUND, exactly as an unknown number", async () => {
    const theirs = await api.request(other.key, SIMULATE, { input: { did: FAILOVER_DID } });
    const unknown = await api.request(other.key, SIMULATE, { input: { did: '+442079469876' } });
    expect(theirs.errors?.[0].extensions?.code).to.equal('NOT_FOUND');
    expect(theirs.text).to.equal(unknown.text);
  });

  const hostile: { name: string; input: Record<string, unknown> }[] = [
    { name: 'a did of 33 characters', input: { did: `+${'4'.repeat(32)}` } },
    { name: 'an empty did', input: { did: '' } },
    { name: 'a caller of 65 characters', input: { did: FAILOVER_DID, caller: `+${'4'.repeat(64)}` } },
    { name: 'a caller with a NUL', input: { did: FAILOVER_DID, caller: '+4930\u0000901820' } },
    { name: 'a caller with CRLF', input: { did: FAILOVER_DID, caller: '+4930901820\r\nVia: x' } },
    { name: 'an `at` that is not a date', input: { did: FAILOVER_DID, at: 'not-a-date' } },
  ];
  for (const row of hostile) {
    it(`refuses ${row.name} with BAD_USER_INPUT and a short answer`, async () => {
      const result = await api.request(company.key, SIMULATE, { input: row.input });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT', result.text.slice(0, 500));
      expect(result.text.length).to.be.below(2_000);
    });
  }

  it('takes a did of exactly 32 characters and a caller of exactly 64', async () => {
    const did = await api.request(company.key, SIMULATE, { input: { did: `+${'4'.repeat(31)}` } });
    expect(did.errors?.[0].extensions?.code).to.not.equal('BAD_USER_INPUT', did.text.slice(0, 500));
    const caller = await api.request(company.key, SIMULATE, { input: { did: FAILOVER_DID, caller: `+${'4'.repeat(63)}` } });
    expect(caller.errors, caller.text.slice(0, 500)).to.equal(undefined);
  });
});

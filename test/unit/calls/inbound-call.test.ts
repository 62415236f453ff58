import { expect } from 'chai';
import pino from 'pino';
import { DialPlanApp } from '../../../domain/flow/flow';
import type { AnsweredCall, ChannelGate } from '../../../worker/calls/call-deps';
import { InboundCall } from '../../../worker/calls/inbound-call';
import type { CallRecordDraft, CallRecorder } from '../../../worker/calls/recorder';
import type { WebhookAnswer } from '../../../domain/webhook';
import type { WebhookClient, WebhookRequest } from '../../../net/webhook-client';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';
import { FakeClock, FakePort, responseTo, SILENT_WEBHOOK_CLIENT } from '../../support/fakes';
import { binding, dialPlanConfig, snapshotOf, trunkConfig } from '../../support/snapshot';

const invite = (did = '+442079460001'): SipRequest => ({
  method: 'INVITE',
  uri: `sip:${did}@192.0.2.1:5060`,
  headers: {
    via: [{ host: '198.51.100.7', port: 5060, params: { branch: 'z9hG4bKc' } }],
    to: { uri: `sip:${did}@192.0.2.1`, params: {} },
    from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
    'call-id': 'call-1',
    cseq: { seq: 1, method: 'INVITE' },
    'max-forwards': 70,
  },
});

class Gate implements ChannelGate {
  taken = 0;
  released = 0;
  refuse = false;
  active(): number {
    return this.taken - this.released;
  }
  tryAcquire(): boolean {
    if (this.refuse) return false;
    this.taken++;
    return true;
  }
  release(): void {
    this.released++;
  }
  isFull(): boolean {
    return false;
  }
}

const HANGUP_486 = dialPlanConfig({ flow: { entryStepId: 'busy', steps: [{ id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] }] } });

function setup(parts: Parameters<typeof snapshotOf>[0] = { registrations: [binding()], dialPlans: [HANGUP_486] }, did?: string, webhookClient: WebhookClient = SILENT_WEBHOOK_CLIENT) {
  const clock = new FakeClock();
  clock.advance(1_500_000);
  const port = new FakePort();
  const channels = new Gate();
  const records: CallRecordDraft[] = [];
  const recorder: CallRecorder = { record: (draft) => records.push(draft), ended: () => undefined };
  const answered: AnsweredCall[] = [];
  const answeredAgain: SipResponse[] = [];
  let settled = 0;
  const call = new InboundCall(invite(did), { address: '198.51.100.7', port: 5060 }, snapshotOf(parts), {
    port,
    clock,
    channels,
    recorder,
    logger: pino({ level: 'silent' }),
    worker: 'node/w0',
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    timerCMs: 180_000,
    webhookClient,
    onAnswered: (call) => answered.push(call),
    answerAgain: (response) => answeredAgain.push(response),
    onSettled: () => settled++,
  });
  call.start();
  return { clock, port, channels, records, answered, answeredAgain, call, settledCount: () => settled };
}

describe('InboundCall: one call from INVITE to its record', () => {
  it('answers 100 at once and 404 for an unknown number, with one REJECTED record', () => {
    const { port, records, channels, settledCount } = setup(undefined, '+442079469999');
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 404]);
    expect(records.map((record) => [record.outcome, record.finalStatus])).to.deep.equal([['REJECTED', 404]]);
    expect(channels.taken).to.equal(0);
    expect(settledCount()).to.equal(1);
  });

  it('delivers with a channel held until the dialog ends, and records DELIVERED without an end time', () => {
    const { port, channels, records, answered } = setup();
    const sent = port.sent[0];
    expect(sent.destination).to.deep.equal({ address: '127.0.0.1', port: 40000 });
    expect(sent.request.headers['record-route']?.[0].uri).to.equal('sip:192.0.2.1:5060;lr');
    sent.respond(responseTo(sent.request, 180));
    sent.respond(responseTo(sent.request, 200));
    expect(port.responded.map((response) => response.status)).to.deep.equal([180, 200]);
    expect(channels).to.deep.include({ taken: 1, released: 0 });
    expect(answered[0]).to.deep.include({ channelTrunkId: 'trunk-1', callerTag: 'a', calleeTag: 'callee' });
    expect(records[0]).to.deep.include({ outcome: 'DELIVERED', finalStatus: 200, endedAt: null, failoverReason: null });
  });

  it('fails over on 503: the channel is given back, the plan answers 486, both attempts recorded', () => {
    const { port, channels, records } = setup();
    port.sent[0].respond(responseTo(port.sent[0].request, 503));
    expect(channels).to.deep.include({ taken: 1, released: 1 });
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 486]);
    expect(records).to.have.length(1);
    expect(records[0]).to.deep.include({ outcome: 'FAILED_OVER', failoverReason: 'PBX_SERVER_ERROR', finalStatus: 486 });
    expect(records[0].attempts.map((attempt) => attempt.status)).to.deep.equal([503]);
  });

  it('records the dial plan steps taken: FORWARD left by noAnswer at its ring timeout, then HANGUP ending the call', () => {
    const plan = dialPlanConfig({
      flow: {
        entryStepId: 'mobile',
        steps: [
          { id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: 'sip:mobile@192.0.2.9', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
          { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
        ],
      },
    });
    const { clock, port, records } = setup({ registrations: [], dialPlans: [plan] });
    const failedOverAt = clock.now();
    port.sent[0].respond(responseTo(port.sent[0].request, 180));
    clock.advance(20_000);
    port.sent[0].respond(responseTo(port.sent[0].request, 487));
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 486]);
    expect(records[0].steps).to.deep.equal([
      { dialPlanId: 'plan-1', stepId: 'mobile', app: 'FORWARD', exit: 'noAnswer', at: new Date(failedOverAt).toISOString() },
      { dialPlanId: 'plan-1', stepId: 'busy', app: 'HANGUP', exit: null, at: new Date(failedOverAt + 20_000).toISOString() },
    ]);
  });

  describe("a failover plan's WEBHOOK step", () => {
    const WEBHOOK_THEN_FORWARD = dialPlanConfig({
      flow: {
        entryStepId: 'ask',
        steps: [
          { id: 'ask', app: DialPlanApp.WEBHOOK, webhook: { url: 'https://hooks.example.com/r', timeoutSeconds: 3, secret: null, exits: ['ring'] }, exits: [{ on: 'ring', stepId: 'mobile' }] },
          { id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 20 }, exits: [] },
        ],
      },
    });

    /** A client that keeps each request with its signal and answers when the test says. */
    function recordingClient() {
      const sent: { request: WebhookRequest; signal: AbortSignal | undefined; answer: (answer: WebhookAnswer) => void }[] = [];
      const client: WebhookClient = { send: (request, signal) => new Promise((answer) => sent.push({ request, signal, answer })) };
      return { client, sent };
    }
    const parts = { registrations: [], dialPlans: [WEBHOOK_THEN_FORWARD], outboundGateway: 'sip:198.51.100.20:5070', webhookAllowedNetworks: ['10.0.0.0/8'] };

    it("goes through the worker's client with the call's snapshot and company; the next step leaves through the snapshot's gateway", async () => {
      const { client, sent } = recordingClient();
      const { port } = setup(parts, undefined, client);
      expect(sent).to.have.length(1);
      expect(sent[0].request.allowedCidrs).to.deep.equal(['10.0.0.0/8']);
      expect(JSON.parse(sent[0].request.body)).to.include({ companyId: 'company-1', trunkId: 'trunk-1', failoverReason: 'NOT_REGISTERED' });
      expect(sent[0].signal?.aborted).to.equal(false);
      sent[0].answer({ kind: 'answer', status: 200, body: '{"exit":"ring"}' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(port.sent.map((entry) => entry.request.uri)).to.deep.equal(['sip:+447911123456@198.51.100.20:5070']);
    });

    it("the caller's CANCEL aborts the request's signal and settles the call once", () => {
      const { client, sent } = recordingClient();
      const { call, port, records } = setup(parts, undefined, client);
      call.cancel();
      expect(sent[0].signal?.aborted).to.equal(true);
      expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 487]);
      expect(records.map((record) => record.outcome)).to.deep.equal(['CANCELLED']);
    });
  });

  it('records no steps for a call delivered to its PBX', () => {
    const { port, records } = setup();
    port.sent[0].respond(responseTo(port.sent[0].request, 200));
    expect(records[0].steps).to.deep.equal([]);
  });

  it('fails over as NOT_REGISTERED without sending anything or taking a channel', () => {
    const { port, channels, records } = setup({ registrations: [], dialPlans: [HANGUP_486] });
    expect(records[0]).to.deep.include({ outcome: 'FAILED_OVER', failoverReason: 'NOT_REGISTERED' });
    expect(port.sent).to.have.length(0);
    expect(channels.taken).to.equal(0);
  });

  it('fails over as CONCURRENCY_LIMIT, sending nothing, when another worker took the last channel after decide()', () => {
    const clock = new FakeClock();
    const port = new FakePort();
    const channels = new Gate();
    channels.refuse = true;
    const records: CallRecordDraft[] = [];
    new InboundCall(invite(), { address: '198.51.100.7', port: 5060 }, snapshotOf({ registrations: [binding({ expiresAt: Number.MAX_SAFE_INTEGER })], dialPlans: [HANGUP_486] }), {
      port,
      clock,
      channels,
      recorder: { record: (draft) => records.push(draft), ended: () => undefined },
      logger: pino({ level: 'silent' }),
      worker: 'w',
      recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
      timerCMs: 180_000,
      webhookClient: SILENT_WEBHOOK_CLIENT,
      onAnswered: () => undefined,
      answerAgain: () => undefined,
      onSettled: () => undefined,
    }).start();
    expect(port.sent).to.have.length(0);
    expect(records[0]).to.deep.include({ outcome: 'FAILED_OVER', failoverReason: 'CONCURRENCY_LIMIT', finalStatus: 486 });
  });

  it("honours the caller's CANCEL: 487, the branch CANCELled, the channel given back, one CANCELLED record", () => {
    const { port, channels, records, call } = setup();
    const sent = port.sent[0];
    sent.respond(responseTo(sent.request, 180));
    call.cancel();
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 487]);
    expect(sent.cancelled).to.equal(1);
    expect(channels).to.deep.include({ taken: 1, released: 1 });
    sent.respond(responseTo(sent.request, 487));
    call.cancel();
    expect(records.map((record) => record.outcome)).to.deep.equal(['CANCELLED']);
  });

  it('does not fail over after a CANCEL even when the no-1xx timer would have fired', () => {
    const { clock, port, call, records } = setup({ registrations: [binding()], dialPlans: [HANGUP_486], trunks: [trunkConfig({ failover: { noProvisionalTimeoutMs: 1000 } })] });
    call.cancel();
    clock.advance(5000);
    expect(port.sent).to.have.length(1, 'no second branch');
    expect(records.map((record) => record.outcome)).to.deep.equal(['CANCELLED']);
  });

  it('hands a retransmitted 200 to answerAgain (the dialog sends it on), once settled, without a second answer or record', () => {
    const { port, answered, answeredAgain, records, channels } = setup();
    const sent = port.sent[0];
    sent.respond(responseTo(sent.request, 200));
    sent.respond(responseTo(sent.request, 200));
    expect(port.responded.map((response) => [response.status, response.headers.via[0].params.branch])).to.deep.equal([[200, 'z9hG4bKc']]);
    expect(answered[0].answerSent).to.equal(port.responded[0], 'the dialog gets the 2xx as the caller got it');
    expect(answeredAgain.map((response) => response.status)).to.deep.equal([200]);
    expect(port.acks).to.have.length(0);
    expect(port.sent.map((entry) => entry.request.method)).to.deep.equal(['INVITE']);
    expect(answered).to.have.length(1);
    expect(records).to.have.length(1);
    expect(channels).to.deep.include({ taken: 1, released: 0 });
  });

  it("relays the PBX's own 5xx when failover is off: its reason, To tag and Retry-After reach the caller", () => {
    const { port, records } = setup({ registrations: [binding()], dialPlans: [HANGUP_486], trunks: [trunkConfig({ failover: { enabled: false } })] });
    const sent = port.sent[0];
    sent.respond({ ...responseTo(sent.request, 503, { 'retry-after': '120' }), reason: 'Maintenance' });
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100], 'no fresh response');
    expect(port.responded).to.have.length(1);
    expect(port.responded[0]).to.deep.include({ status: 503, reason: 'Maintenance' });
    expect(port.responded[0].headers).to.deep.include({ 'retry-after': '120' });
    expect(port.responded[0].headers.to.params.tag).to.equal('callee');
    expect(port.responded[0].headers.via.map((via) => via.params.branch)).to.deep.equal(['z9hG4bKc'], "the caller's Via");
    expect(records[0]).to.deep.include({ outcome: 'REJECTED', failoverReason: 'PBX_SERVER_ERROR', finalStatus: 503 });
  });

  it('never relays a 503 our own stack made: failover off, the caller gets our 503 and the record says PBX_UNREACHABLE', () => {
    const { port, records } = setup({ registrations: [binding()], dialPlans: [HANGUP_486], trunks: [trunkConfig({ failover: { enabled: false } })] });
    const sent = port.sent[0];
    sent.respond({ ...responseTo(sent.request, 503, { to: sent.request.headers.to }), reason: 'Service Unavailable' }, 'local');
    expect(port.responded).to.have.length(0, 'nothing relayed');
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 503]);
    expect(records[0]).to.deep.include({ outcome: 'REJECTED', failoverReason: 'PBX_UNREACHABLE', finalStatus: 503 });
  });

  it("fails over on a 503 our own stack made as PBX_UNREACHABLE, not the PBX's server error", () => {
    const { port, records } = setup();
    const sent = port.sent[0];
    sent.respond(responseTo(sent.request, 503), 'local');
    expect(port.responded).to.have.length(0);
    expect(records[0]).to.deep.include({ outcome: 'FAILED_OVER', failoverReason: 'PBX_UNREACHABLE', finalStatus: 486 });
  });

  it('matches a CANCEL by the INVITE transaction and its source only', () => {
    const { call } = setup();
    const cancel = { ...invite(), method: 'CANCEL', headers: { ...invite().headers, cseq: { seq: 1, method: 'CANCEL' } } };
    expect(call.isCancelledBy(cancel, { address: '198.51.100.7', port: 5060 })).to.equal(true);
    expect(call.isCancelledBy(cancel, { address: '203.0.113.66', port: 5060 })).to.equal(false);
    const guessed = { ...cancel, headers: { ...cancel.headers, via: [{ host: '198.51.100.7', port: 5060, params: { branch: 'z9hG4bKguess' } }] } };
    expect(call.isCancelledBy(guessed, { address: '198.51.100.7', port: 5060 })).to.equal(false);
  });
});

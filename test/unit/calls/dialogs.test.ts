import { Writable } from 'node:stream';
import { expect } from 'chai';
import pino from 'pino';
import { DialogTable } from '../../../worker/calls/dialogs';
import type { AnsweredCall } from '../../../worker/calls/call-deps';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';
import { DIALOG_LINGER_MS } from '../../../worker/sip/timers';
import { collected } from '../../support/collected';
import { FakeClock, FakePort } from '../../support/fakes';

const CARRIER = { address: '198.51.100.7', port: 5060 };
const PBX = { address: '203.0.113.20', port: 40000 };
const OURS = 'sip:192.0.2.1:5060;lr';
const CARRIER_SBC = 'sip:sbc.carrier.test;lr';
const PBX_SBC = 'sip:edge.pbx.test;lr';

function invite(headers: Record<string, unknown> = {}): SipRequest {
  return {
    method: 'INVITE',
    uri: 'sip:+442079460001@192.0.2.1',
    headers: {
      via: [{ host: CARRIER.address, port: CARRIER.port, params: { branch: 'z9hG4bKinvite' } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
      from: { uri: 'sip:+4930901820@carrier.test', params: { tag: 'caller-tag' } },
      'call-id': 'dialog-1',
      cseq: { seq: 7, method: 'INVITE' },
      contact: [{ uri: 'sip:+4930901820@198.51.100.7:5060', params: {} }],
      'record-route': [{ uri: CARRIER_SBC, params: {} }],
      ...headers,
    },
  };
}

function answer(request: SipRequest, headers: Record<string, unknown> = {}): SipResponse {
  return {
    status: 200,
    reason: 'OK',
    headers: {
      via: request.headers.via,
      to: { ...request.headers.to, params: { tag: 'callee-tag' } },
      from: request.headers.from,
      'call-id': request.headers['call-id'],
      cseq: request.headers.cseq,
      contact: [{ uri: 'sip:pbx@10.0.0.5:5060', params: {} }],
      'record-route': [{ uri: PBX_SBC, params: {} }, { uri: OURS, params: {} }, { uri: CARRIER_SBC, params: {} }],
      ...headers,
    },
  };
}

/** An in-dialog request from one end: the caller (From caller-tag) or the PBX (From callee-tag). */
function inDialog(method: string, from: 'caller' | 'callee', seq: number, headers: Record<string, unknown> = {}): SipRequest {
  const caller = { uri: 'sip:+4930901820@carrier.test', params: { tag: 'caller-tag' } };
  const callee = { uri: 'sip:+442079460001@192.0.2.1', params: { tag: 'callee-tag' } };
  return {
    method,
    uri: from === 'caller' ? 'sip:pbx@10.0.0.5:5060' : 'sip:+4930901820@198.51.100.7:5060',
    headers: {
      via: [{ host: '198.51.100.9', params: { branch: `z9hG4bK${method}${seq}` } }],
      from: from === 'caller' ? caller : callee,
      to: from === 'caller' ? callee : caller,
      'call-id': 'dialog-1',
      cseq: { seq, method },
      route: [{ uri: OURS, params: {} }],
      ...headers,
    },
  };
}

function setup(options: { maxCallLengthSeconds?: number; secondMs?: number } = {}) {
  const port = new FakePort();
  const clock = new FakeClock();
  const released: string[] = [];
  const ended: { id: string; at: number }[] = [];
  const gone: string[] = [];
  const warnings: Record<string, unknown>[] = [];
  let maxCallLengthSeconds = options.maxCallLengthSeconds ?? 14_400;
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        warnings.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const table = new DialogTable({
    port,
    clock,
    channels: { active: () => 0, tryAcquire: () => true, release: (trunkId) => void released.push(trunkId), isFull: () => false },
    recorder: { record: () => undefined, ended: (id, at) => void ended.push({ id, at: at.getTime() }) },
    logger,
    maxCallLengthSeconds: () => maxCallLengthSeconds,
    secondMs: options.secondMs ?? 1000,
    onGone: (callId) => void gone.push(callId),
  });
  const answerCall = (request: SipRequest, response: SipResponse): void => {
    const call: AnsweredCall = {
      callId: 'dialog-1',
      callerTag: 'caller-tag',
      calleeTag: 'callee-tag',
      caller: CARRIER,
      callee: PBX,
      channelTrunkId: 'trunk-1',
      recordId: 'record-1',
      invite: request,
      answer: response,
      answerSent: response,
    };
    table.add(call);
  };
  const byes = () => port.sent.filter((entry) => entry.request.method === 'BYE');
  return { port, clock, table, released, ended, gone, warnings, byes, answerCall, setMaxCallLength: (seconds: number) => (maxCallLengthSeconds = seconds) };
}

describe('DialogTable: calls nobody hangs up', () => {
  it('ends a call whose session timer expires without a refresh: BYE to both ends, channel back, end recorded', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '90' });
    t.answerCall(request, answer(request, { 'session-expires': '90;refresher=uac', require: 'timer' }));
    t.clock.advance(119_999);
    expect(t.byes()).to.deep.equal([]);
    expect(t.table.liveCount()).to.equal(1);
    t.clock.advance(1);
    const [toCaller, toCallee] = t.byes();
    expect(toCaller.destination).to.deep.equal(CARRIER);
    expect(toCaller.request.uri).to.equal('sip:+4930901820@198.51.100.7:5060', "the caller's Contact");
    expect(toCaller.request.headers.from).to.deep.equal({ uri: 'sip:+442079460001@192.0.2.1', params: { tag: 'callee-tag' } });
    expect(toCaller.request.headers.to).to.deep.equal({ uri: 'sip:+4930901820@carrier.test', params: { tag: 'caller-tag' } });
    expect(toCaller.request.headers.route).to.deep.equal([{ uri: CARRIER_SBC, params: {} }], 'the proxies on the caller side');
    expect(toCallee.destination).to.deep.equal(PBX);
    expect(toCallee.request.uri).to.equal('sip:pbx@10.0.0.5:5060', "the PBX's Contact");
    expect(toCallee.request.headers.from).to.deep.equal({ uri: 'sip:+4930901820@carrier.test', params: { tag: 'caller-tag' } });
    expect(toCallee.request.headers.to).to.deep.equal({ uri: 'sip:+442079460001@192.0.2.1', params: { tag: 'callee-tag' } });
    expect(toCallee.request.headers.route).to.deep.equal([{ uri: PBX_SBC, params: {} }], 'the proxies on the PBX side');
    for (const bye of [toCaller, toCallee]) {
      expect(bye.request.headers['call-id']).to.equal('dialog-1');
      expect(bye.request.headers.cseq).to.deep.equal({ seq: 8, method: 'BYE' }, 'above every CSeq seen in the dialog');
      expect(bye.request.headers.reason).to.equal('SIP;cause=408;text="Session expired"');
    }
    expect(t.released).to.deep.equal(['trunk-1']);
    expect(t.ended).to.deep.equal([{ id: 'record-1', at: 120_000 }]);
    expect(t.table.liveCount()).to.equal(0);
    expect(t.warnings.map(({ msg, why, sessionSeconds, refresher }) => ({ msg, why, sessionSeconds, refresher }))).to.deep.equal([
      { msg: 'call ended without a BYE', why: 'session-expired', sessionSeconds: 90, refresher: 'caller' },
    ]);
    t.clock.advance(DIALOG_LINGER_MS);
    expect(t.gone).to.deep.equal(['dialog-1']);
    expect(t.byes()).to.have.length(2);
  });

  it('restarts the timer on every refresh answered 2xx, and not on a refused one', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '90' });
    t.answerCall(request, answer(request, { 'session-expires': '90;refresher=uac', require: 'timer' }));
    t.clock.advance(45_000);
    const reinvite = inDialog('INVITE', 'caller', 8, { supported: 'timer', 'session-expires': '90;refresher=uac' });
    expect(t.table.handle(reinvite)).to.equal(true);
    const sent = t.port.sent[0];
    expect(sent.destination).to.deep.equal(PBX);
    expect(sent.request.headers['session-expires']).to.equal('90;refresher=uac');
    sent.respond({ status: 200, reason: 'OK', headers: { ...sent.request.headers, 'session-expires': '90;refresher=uac', require: 'timer' } });
    expect(t.port.responded).to.have.length(1, 'the 2xx goes upstream');
    t.clock.advance(119_999);
    expect(t.byes()).to.deep.equal([], 'still up 164 s after the answer');
    // An UPDATE from the PBX answered 491: no refresh, the timer runs on from the re-INVITE's 2xx.
    t.table.handle(inDialog('UPDATE', 'callee', 1, { supported: 'timer', 'session-expires': '90' }));
    t.port.sent[1].respond({ status: 491, reason: 'Request Pending', headers: t.port.sent[1].request.headers });
    t.clock.advance(1);
    expect(t.byes()).to.have.length(2);
    expect(t.byes()[0].request.headers.cseq.seq).to.equal(9);
    expect(t.ended).to.deep.equal([{ id: 'record-1', at: 165_000 }]);
  });

  it('inserts Session-Expires into a refresh that has none, and completes the 2xx for a UAC that supports timers', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '1800' });
    t.answerCall(request, answer(request, { 'session-expires': '1800;refresher=uas' }));
    t.table.handle(inDialog('INVITE', 'callee', 1, { supported: 'timer' }));
    const sent = t.port.sent[0];
    expect(sent.destination).to.deep.equal(CARRIER);
    expect([sent.request.headers['session-expires'], sent.request.headers['min-se']]).to.deep.equal(['1800', '90']);
    sent.respond({ status: 200, reason: 'OK', headers: { ...sent.request.headers, 'session-expires': undefined, 'min-se': undefined } });
    const relayed = t.port.responded[0];
    expect([relayed.headers['session-expires'], relayed.headers.require]).to.deep.equal(['1800;refresher=uac', 'timer']);
    t.clock.advance(1_831_999);
    expect(t.byes()).to.deep.equal([]);
    t.clock.advance(1);
    expect(t.byes()).to.have.length(2);
    expect(t.warnings[0]).to.include({ why: 'session-expired', refresher: 'callee' });
  });

  it('answers 422 with Min-SE to a refresh asking for less than 90 s, and forwards nothing', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '1800' });
    t.answerCall(request, answer(request, { 'session-expires': '1800;refresher=uac', require: 'timer' }));
    const reinvite = inDialog('INVITE', 'caller', 8, { supported: 'timer', 'session-expires': '60' });
    expect(t.table.handle(reinvite)).to.equal(true);
    expect(t.port.sent).to.deep.equal([]);
    expect(t.port.replies.map(({ status, extension }) => ({ status, extension }))).to.deep.equal([{ status: 422, extension: { headers: { 'min-se': '90' } } }]);
  });

  it('ends a call where neither end supports timers at the maximum call length in force at its answer', () => {
    const t = setup({ maxCallLengthSeconds: 600 });
    const request = invite();
    t.answerCall(request, answer(request));
    t.setMaxCallLength(60);
    t.clock.advance(599_999);
    expect(t.byes()).to.deep.equal([]);
    t.clock.advance(1);
    expect(t.byes().map((bye) => [bye.destination, bye.request.headers.reason])).to.deep.equal([
      [CARRIER, 'Q.850;cause=102;text="Maximum call length"'],
      [PBX, 'Q.850;cause=102;text="Maximum call length"'],
    ]);
    expect(t.released).to.deep.equal(['trunk-1']);
    expect(t.ended).to.deep.equal([{ id: 'record-1', at: 600_000 }]);
    expect(t.warnings[0]).to.include({ why: 'max-call-length', lastedMs: 600_000 });
  });

  it('falls back to the maximum call length, counted from the answer, when a refresh ends the session timer', () => {
    const t = setup({ maxCallLengthSeconds: 600 });
    const request = invite({ 'session-expires': '1800' });
    t.answerCall(request, answer(request, { 'session-expires': '1800;refresher=uas' }));
    t.clock.advance(300_000);
    t.table.handle(inDialog('INVITE', 'caller', 8));
    const sent = t.port.sent[0];
    sent.respond({ status: 200, reason: 'OK', headers: { ...sent.request.headers, 'session-expires': undefined } });
    t.clock.advance(299_999);
    expect(t.byes()).to.deep.equal([]);
    t.clock.advance(1);
    expect(t.byes()).to.have.length(2);
    expect(t.ended).to.deep.equal([{ id: 'record-1', at: 600_000 }]);
  });

  it('sends no BYE of its own after a BYE ended the call', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '90' });
    t.answerCall(request, answer(request, { 'session-expires': '90;refresher=uac' }));
    t.table.handle(inDialog('BYE', 'callee', 1));
    expect(t.port.sent.map((entry) => entry.destination)).to.deep.equal([CARRIER], "the PBX's BYE, forwarded");
    t.clock.advance(1_000_000);
    expect(t.byes()).to.have.length(1);
    expect(t.released).to.deep.equal(['trunk-1']);
    expect(t.warnings).to.deep.equal([]);
  });

  it('sends the answer again while the callee retransmits it, until the dialog ends; never for another dialog', () => {
    const t = setup();
    const request = invite();
    const sent = { ...answer(request), reason: 'OK as sent' };
    t.table.add({ callId: 'dialog-1', callerTag: 'caller-tag', calleeTag: 'callee-tag', caller: CARRIER, callee: PBX, channelTrunkId: null, recordId: 'r', invite: request, answer: answer(request), answerSent: sent });
    t.table.answerAgain(answer(request));
    t.table.answerAgain(answer(request, { to: { ...request.headers.to, params: { tag: 'forked-tag' } } }));
    t.table.answerAgain(answer(request, { 'call-id': 'another-call' }));
    expect(t.port.responded).to.deep.equal([sent], 'once, as first sent, for its own dialog only');
    t.table.handle(inDialog('BYE', 'caller', 8));
    t.table.answerAgain(answer(request));
    expect(t.port.responded).to.have.length(1, 'nothing after the BYE');
  });

  it('once ended, keeps neither the answer it sent nor the INVITE and 2xx it was made from', async () => {
    const t = setup();
    const add = (): WeakRef<object>[] => {
      const request = invite();
      const response = answer(request);
      const sent = { ...response };
      t.table.add({ callId: 'dialog-1', callerTag: 'caller-tag', calleeTag: 'callee-tag', caller: CARRIER, callee: PBX, channelTrunkId: null, recordId: 'r', invite: request, answer: response, answerSent: sent });
      return [new WeakRef(request), new WeakRef(response), new WeakRef(sent)];
    };
    const refs = add();
    t.table.handle(inDialog('BYE', 'caller', 8));
    expect(t.table.has('dialog-1')).to.equal(true, 'it lingers');
    for (const ref of refs) expect(await collected(ref)).to.equal(true);
  });

  it('gives the channel back and records the end even when the BYEs cannot be sent', () => {
    const t = setup();
    const request = invite({ supported: 'timer', 'session-expires': '90' });
    t.answerCall(request, answer(request, { 'session-expires': '90;refresher=uac' }));
    t.port.throwOnSend = new Error('cannot serialise');
    t.clock.advance(120_000);
    expect(t.released).to.deep.equal(['trunk-1']);
    expect(t.ended).to.deep.equal([{ id: 'record-1', at: 120_000 }]);
    expect(t.warnings.map((line) => line.msg)).to.deep.equal(['call ended without a BYE', 'BYE ending a call not sent', 'BYE ending a call not sent']);
  });

  it('counts session intervals and the maximum call length in the configured second (tests shorten it)', () => {
    const t = setup({ secondMs: 10 });
    const request = invite({ supported: 'timer', 'session-expires': '90' });
    t.answerCall(request, answer(request, { 'session-expires': '90;refresher=uas' }));
    t.clock.advance(1_199);
    expect(t.byes()).to.deep.equal([]);
    t.clock.advance(1);
    expect(t.byes()).to.have.length(2);
  });

  it('reaches a callee known only by its Contact, and a caller with no proxies before us', () => {
    const t = setup();
    const request = invite({ 'record-route': undefined, contact: undefined });
    const response = answer(request, { 'record-route': [{ uri: OURS, params: {} }] });
    t.table.add({ callId: 'dialog-1', callerTag: 'caller-tag', calleeTag: 'callee-tag', caller: CARRIER, callee: null, channelTrunkId: null, recordId: 'r', invite: request, answer: response, answerSent: response });
    t.clock.advance(14_400_000);
    const [toCaller, toCallee] = t.byes();
    expect([toCaller.request.uri, toCaller.request.headers.route]).to.deep.equal(['sip:+4930901820@carrier.test', undefined], 'no Contact: the From URI');
    expect([toCallee.destination, toCallee.request.uri, toCallee.request.headers.route]).to.deep.equal([null, 'sip:pbx@10.0.0.5:5060', undefined]);
    expect(t.released).to.deep.equal([], 'a failover leg holds no channel');
  });
});

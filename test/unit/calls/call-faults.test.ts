import { expect } from 'chai';
import pino from 'pino';
import type { ChannelGate } from '../../../worker/calls/call-deps';
import { WorkerCounters } from '../../../worker/calls/counters';
import type { CallRecordDraft } from '../../../worker/calls/recorder';
import { RequestHandler } from '../../../worker/calls/request-handler';
import type { Registrar } from '../../../worker/registrar/registrar';
import type { SipRequest } from '../../../worker/sip/message';
import { DIALOG_LINGER_MS } from '../../../worker/sip/timers';
import { FakeClock, FakePort, responseTo, SILENT_WEBHOOK_CLIENT } from '../../support/fakes';
import { binding, snapshotOf } from '../../support/snapshot';

const CARRIER = { address: '198.51.100.7', port: 5060 };

function invite(callId: string): SipRequest {
  return {
    method: 'INVITE',
    uri: 'sip:+442079460001@192.0.2.1',
    headers: {
      via: [{ host: CARRIER.address, port: CARRIER.port, params: { branch: `z9hG4bK${callId}` } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
      from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
      'call-id': callId,
      cseq: { seq: 1, method: 'INVITE' },
    },
  };
}

/** Channels of one trunk; `active` may be made to throw, as a bug in `decide()`'s input would. */
class Channels implements ChannelGate {
  held = 0;
  faultyView = false;
  active(): number {
    if (this.faultyView) throw new TypeError('channel view bug');
    return this.held;
  }
  tryAcquire(): boolean {
    this.held++;
    return true;
  }
  release(): void {
    this.held--;
  }
  isFull(): boolean {
    return false;
  }
}

function setup() {
  const port = new FakePort();
  const clock = new FakeClock();
  const channels = new Channels();
  const records: CallRecordDraft[] = [];
  const unpinned: string[] = [];
  const handler = new RequestHandler({
    port,
    clock,
    channels,
    recorder: { record: (draft) => records.push(draft), ended: () => undefined },
    registrar: {} as Registrar,
    logger: pino({ level: 'silent' }),
    counters: new WorkerCounters(),
    worker: 'w',
    timerCMs: 180_000,
    webhookClient: SILENT_WEBHOOK_CLIENT,
    dialogSecondMs: 1000,
    snapshot: () => snapshotOf({ registrations: [binding()], carrierOf: () => ({ id: 'c', name: 'c', sourceCidrs: [] }) }),
    unpin: (callId) => unpinned.push(callId),
    accepting: () => true,
    overloaded: () => false,
  });
  /** What the stack does around the call path: a throw is contained and the Call-ID's call aborted. */
  const contained = (run: () => void, callId: string): unknown => {
    try {
      run();
      return null;
    } catch (error) {
      handler.abort(callId);
      return error;
    }
  };
  return { port, clock, channels, records, unpinned, handler, contained };
}

/**
 * A contained fault ends its call (issue 6 hardening): before, the call stayed in the table for
 * ever, its Call-ID kept alive at the edge, its channel held and a drain waiting its full time.
 */
describe('a fault contained in a call ends that call cleanly', () => {
  it('a throw at start: 500 to the caller, one REJECTED record, nothing live, the Call-ID unpinned after the linger', () => {
    const { port, clock, channels, records, unpinned, handler, contained } = setup();
    channels.faultyView = true;

    const thrown = contained(() => handler.handle(invite('boom-start'), CARRIER), 'boom-start');

    expect(thrown).to.be.instanceOf(TypeError);
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 500]);
    expect(records.map((record) => [record.outcome, record.finalStatus, record.failoverReason])).to.deep.equal([['REJECTED', 500, null]]);
    expect(handler.liveCalls()).to.equal(0);
    expect(handler.liveCallIds()).to.deep.equal([]);
    expect(channels.held).to.equal(0);
    clock.advance(DIALOG_LINGER_MS);
    expect(unpinned).to.deep.equal(['boom-start']);

    handler.abort('boom-start');
    expect(records).to.have.length(1);
  });

  it('a throw in a response callback: the branch given up, 500, the channel back, one record with its attempt', () => {
    const { port, channels, records, handler, contained } = setup();
    handler.handle(invite('boom-180'), CARRIER);
    expect(channels.held).to.equal(1);
    const [branch] = port.sent;
    port.throwOnRespond = new Error('relay bug');

    const thrown = contained(() => branch.respond(responseTo(branch.request, 180)), 'boom-180');

    expect(thrown).to.be.instanceOf(Error);
    expect(branch.abandoned).to.equal(1);
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 500]);
    expect(channels.held).to.equal(0);
    expect(handler.liveCalls()).to.equal(0);
    expect(records).to.have.length(1);
    expect(records[0]).to.deep.include({ outcome: 'REJECTED', finalStatus: 500, failoverReason: null });
    expect(records[0].attempts).to.have.length(1);

    // A 2xx that still comes on the abandoned branch answers a call nobody is on: ACK and BYE.
    branch.respond(responseTo(branch.request, 200));
    expect(port.acks).to.have.length(1);
    expect(port.sent.map((sent) => sent.request.method)).to.deep.equal(['INVITE', 'BYE']);
    expect(records).to.have.length(1);
  });

  it('a throw while relaying the final response: no second final answer, the channel back, one record', () => {
    const { port, channels, records, handler, contained } = setup();
    handler.handle(invite('boom-486'), CARRIER);
    const [branch] = port.sent;
    port.throwOnRespond = new Error('relay bug');

    contained(() => branch.respond(responseTo(branch.request, 486)), 'boom-486');

    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100]);
    expect(channels.held).to.equal(0);
    expect(handler.liveCalls()).to.equal(0);
    expect(records.map((record) => [record.outcome, record.finalStatus])).to.deep.equal([['REJECTED', 500]]);
  });

  it('leaves an answered call up: a fault in one in-dialog request is not the dialog\'s', () => {
    const { port, channels, handler } = setup();
    handler.handle(invite('up'), CARRIER);
    const [branch] = port.sent;
    branch.respond(responseTo(branch.request, 200));
    expect(handler.liveCalls()).to.equal(1);

    handler.abort('up');
    handler.abort('no-such-call');

    expect(handler.liveCalls()).to.equal(1);
    expect(channels.held).to.equal(1);
  });
});

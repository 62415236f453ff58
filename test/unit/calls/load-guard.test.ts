import { expect } from 'chai';
import pino from 'pino';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { LoadGuard } from '../../../worker/calls/load-guard';
import { WorkerCounters } from '../../../worker/calls/counters';
import type { CallRecordDraft } from '../../../worker/calls/recorder';
import { RequestHandler } from '../../../worker/calls/request-handler';
import type { Registrar } from '../../../worker/registrar/registrar';
import type { SipRequest } from '../../../worker/sip/message';
import { FakeClock, FakePort, SILENT_WEBHOOK_CLIENT } from '../../support/fakes';
import { binding, snapshotOf } from '../../support/snapshot';

describe('overload protection', () => {
  it('is overloaded when the loop was busy at least the threshold for two intervals in a row', () => {
    const busy = [0.2, 0.99, 0.5, 0.96, 0.97, 0.98, 0.5];
    let call = 0;
    const guard = new LoadGuard(0.95, (previous: EventLoopUtilization | undefined) => ({
      sample: { idle: 0, active: call, utilization: 0 },
      utilization: previous === undefined ? 0 : busy[call++],
    }));
    guard.sample();
    const seen: boolean[] = [];
    for (let i = 0; i < busy.length; i++) {
      guard.sample();
      seen.push(guard.isOverloaded());
    }
    expect(seen).to.deep.equal([false, false, false, false, true, true, false]);
  });

  it('sheds a new INVITE with 503 Retry-After and a REJECTED record, and takes nothing else', () => {
    const port = new FakePort();
    const records: CallRecordDraft[] = [];
    const counters = new WorkerCounters();
    const handler = new RequestHandler({
      port,
      clock: new FakeClock(),
      channels: { active: () => 0, tryAcquire: () => true, release: () => undefined, isFull: () => false },
      recorder: { record: (draft) => records.push(draft), ended: () => undefined },
      registrar: {} as Registrar,
      logger: pino({ level: 'silent' }),
      counters,
      worker: 'w',
      timerCMs: 180_000,
      webhookClient: SILENT_WEBHOOK_CLIENT,
      dialogSecondMs: 1000,
      snapshot: () => snapshotOf({ registrations: [binding()], carrierOf: () => ({ id: 'c', name: 'c', sourceCidrs: [] }) }),
      unpin: () => undefined,
      accepting: () => true,
      overloaded: () => true,
    });
    const invite: SipRequest = {
      method: 'INVITE',
      uri: 'sip:+442079460001@192.0.2.1',
      headers: {
        via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKx' } }],
        to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
        from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
        'call-id': 'shed-1',
        cseq: { seq: 1, method: 'INVITE' },
      },
    };
    handler.handle(invite, { address: '198.51.100.7', port: 5060 });
    expect(port.replies.map((reply) => [reply.status, reply.extension?.headers?.['retry-after']])).to.deep.equal([[503, '1']]);
    expect(port.sent).to.have.length(0);
    expect(records.map((record) => [record.outcome, record.finalStatus])).to.deep.equal([['REJECTED', 503]]);
    expect(counters.snapshot().drops).to.deep.equal({ overload: 1 });
    expect(handler.liveCalls()).to.equal(0);
  });
});

import { expect } from 'chai';
import pino from 'pino';
import { WorkerCounters } from '../../../worker/calls/counters';
import type { CallRecordDraft } from '../../../worker/calls/recorder';
import { RequestHandler } from '../../../worker/calls/request-handler';
import { SOJOURN_CEILING_MS, SOJOURN_INTERVAL_MS, SOJOURN_TARGET_MS, SojournGuard } from '../../../worker/calls/sojourn-guard';
import type { Registrar } from '../../../worker/registrar/registrar';
import type { SipRequest } from '../../../worker/sip/message';
import { FakeClock, FakePort, SILENT_WEBHOOK_CLIENT } from '../../support/fakes';
import { binding, snapshotOf } from '../../support/snapshot';

const T = SOJOURN_TARGET_MS;
const I = SOJOURN_INTERVAL_MS;
const C = SOJOURN_CEILING_MS;

/**
 * Observations as [time, sojourn] (ms), or ['tick', time], and whether the guard is overloaded
 * after each.
 */
type Step = [number, number] | ['tick', number];
const rows: { name: string; steps: Step[]; overloaded: boolean[] }[] = [
  { name: 'sojourns at the target never overload', steps: [[0, T], [50, T], [I, T], [2 * I, T]], overloaded: [false, false, false, false] },
  { name: 'one past the target for a whole interval overloads, at the interval and not before', steps: [[0, T + 1], [I - 1, T + 1], [I, T + 1]], overloaded: [false, false, true] },
  { name: 'the run is timed from its first sojourn above target', steps: [[0, T], [10, T + 1], [I, T + 1], [I + 10, T + 1]], overloaded: [false, false, false, true] },
  { name: 'one sojourn at the target within the interval starts it over (the minimum was not above)', steps: [[0, 200], [50, T], [60, 200], [I + 50, 200], [I + 60, 200]], overloaded: [false, false, false, false, true] },
  { name: 'overload ends with the first sojourn at or below target', steps: [[0, 90], [I, 90], [I + 1, 90], [I + 2, T], [I + 3, 90]], overloaded: [false, true, true, false, false] },
  { name: 'a burst shorter than the interval sheds nothing', steps: [[0, C], [40, 200], [80, 100], [99, 60], [100, 5]], overloaded: [false, false, false, false, false] },
  { name: 'a sojourn at the ceiling waits for the interval; one past it overloads at once', steps: [[0, C], [1, C + 1]], overloaded: [false, true] },
  { name: 'after a quiet stretch longer than the interval, a delayed datagram starts a new run', steps: [[0, 80], [I + 1, 80], [2 * I, 80], [2 * I + 1, 80]], overloaded: [false, false, false, true] },
  { name: 'a gap of exactly the interval is no quiet stretch', steps: [[0, 80], [I, 80]], overloaded: [false, true] },
  { name: 'a quiet stretch ends an overload even when no tick ran in it', steps: [[0, 80], [I, 80], [2 * I + 1, 80]], overloaded: [false, true, false] },
  { name: 'a tick ends an overload once no datagram came for longer than the interval, not before', steps: [[0, 80], [I, 80], ['tick', 2 * I], ['tick', 2 * I + 1], [2 * I + 2, 80]], overloaded: [false, true, true, false, false] },
  { name: 'a tick while datagrams come changes nothing', steps: [[0, 80], ['tick', 50], [I, 80], ['tick', I + 1]], overloaded: [false, false, true, true] },
];

describe('sojourn guard (CoDel over the hand-off wait)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const guard = new SojournGuard();
      const states = row.steps.map((step) => {
        if (step[0] === 'tick') guard.tick(step[1]);
        else guard.observe(step[0], step[1]);
        return guard.isOverloaded();
      });
      expect(states).to.deep.equal(row.overloaded);
    });
  }

  it('counts the overloads it entered and keeps the latest sojourn', () => {
    const guard = new SojournGuard();
    expect(guard.stats()).to.deep.equal({ overloads: 0, lastSojournMs: 0 });
    for (const [now, sojourn] of [[0, 60], [I, 60], [I + 1, 60], [I + 2, 1], [I + 3, 60], [2 * I + 3, 60.04]]) guard.observe(now, sojourn);
    expect(guard.stats()).to.deep.equal({ overloads: 2, lastSojournMs: 60 });
  });

  it('takes its target, interval, ceiling and quiet time from the caller', () => {
    const guard = new SojournGuard({ targetMs: 5, intervalMs: 10, ceilingMs: 1000, quietMs: 500 });
    guard.observe(0, 6);
    guard.observe(10, 6);
    expect(guard.isOverloaded()).to.equal(true);
    guard.tick(400);
    expect(guard.isOverloaded()).to.equal(true);
    guard.tick(511);
    expect(guard.isOverloaded()).to.equal(false);
    guard.observe(520, 999);
    expect(guard.isOverloaded()).to.equal(false);
  });
});

describe('overload protection in the call path', () => {
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

import { Writable } from 'node:stream';
import { expect } from 'chai';
import pino from 'pino';
import { WorkerCounters } from '../../../worker/calls/counters';
import { RequestHandler, UNTRUSTED_LOG_INTERVAL_MS } from '../../../worker/calls/request-handler';
import type { Registrar } from '../../../worker/registrar/registrar';
import type { SipRequest } from '../../../worker/sip/message';
import { DIALOG_LINGER_MS } from '../../../worker/sip/timers';
import { FakeClock, FakePort, responseTo, SILENT_WEBHOOK_CLIENT } from '../../support/fakes';
import { binding, snapshotOf } from '../../support/snapshot';

const CARRIER = { address: '198.51.100.7', port: 5060 };
const STRANGER = { address: '203.0.113.66', port: 5060 };

function request(method: string, callId: string, changes: Partial<SipRequest> = {}, toTag?: string): SipRequest {
  return {
    method,
    uri: 'sip:+442079460001@192.0.2.1',
    headers: {
      via: [{ host: CARRIER.address, port: CARRIER.port, params: { branch: `z9hG4bK${callId}-${method}` } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: toTag === undefined ? {} : { tag: toTag } },
      from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
      'call-id': callId,
      cseq: { seq: 1, method },
    },
    ...changes,
  };
}

class V6Port extends FakePort {
  override readonly publicAddress = '2001:db8::1';
}

function setup(options: { overloaded?: boolean; port?: FakePort } = {}) {
  const port = options.port ?? new FakePort();
  const clock = new FakeClock();
  const unpinned: string[] = [];
  const lines: { msg: string; count?: number }[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string; count?: number });
        done();
      },
    }),
  );
  const handler = new RequestHandler({
    port,
    clock,
    channels: { active: () => 0, tryAcquire: () => true, release: () => undefined, isFull: () => false },
    recorder: { record: () => undefined, ended: () => undefined },
    registrar: {} as Registrar,
    logger,
    counters: new WorkerCounters(),
    worker: 'w',
    timerCMs: 180_000,
    webhookClient: SILENT_WEBHOOK_CLIENT,
    dialogSecondMs: 1000,
    snapshot: () => snapshotOf({ registrations: [binding()], carrierOf: (address) => (address === CARRIER.address ? { id: 'c', name: 'c', sourceCidrs: [] } : null) }),
    unpin: (callId) => unpinned.push(callId),
    accepting: () => true,
    overloaded: () => options.overloaded ?? false,
  });
  return { port, clock, unpinned, lines, handler };
}

/**
 * Refusals made before any call exists let their Call-ID go after the transaction's linger (issue 6: the
 * edge kept each one bound for its idle expiry), but never one a live call or dialog uses.
 */
describe('refused requests: their Call-IDs are unpinned after the linger', () => {
  const rows: { name: string; status: number; request: SipRequest; source?: typeof CARRIER; overloaded?: boolean }[] = [
    { name: 'an INVITE from a source that is no carrier', status: 403, request: request('INVITE', 'r-403'), source: STRANGER },
    { name: 'an INVITE in SIP/7.0', status: 505, request: request('INVITE', 'r-505', { version: '7.0' }) },
    { name: 'an INVITE with Max-Forwards 0', status: 483, request: request('INVITE', 'r-483', { headers: { ...request('INVITE', 'r-483').headers, 'max-forwards': 0 } }) },
    { name: 'an INVITE while overloaded', status: 503, request: request('INVITE', 'r-503'), overloaded: true },
    {
      name: 'an INVITE asking for a session interval below 90 s (RFC 4028)',
      status: 422,
      request: request('INVITE', 'r-422', { headers: { ...request('INVITE', 'r-422').headers, supported: 'timer', 'session-expires': '89' } }),
    },
    { name: 'a re-INVITE for no dialog of ours', status: 481, request: request('INVITE', 'r-481', {}, 'gone') },
    { name: 'a BYE outside any dialog', status: 481, request: request('BYE', 'r-bye') },
    { name: 'a CANCEL that matches nothing', status: 481, request: request('CANCEL', 'r-cancel') },
    { name: 'a method we do not take', status: 405, request: request('MESSAGE', 'r-405') },
  ];
  for (const row of rows) {
    it(`${row.status} to ${row.name}`, () => {
      const { port, clock, unpinned, handler } = setup({ overloaded: row.overloaded });
      handler.handle(row.request, row.source ?? CARRIER);
      expect(port.replies.map((reply) => reply.status)).to.deep.equal([row.status]);
      clock.advance(DIALOG_LINGER_MS - 1);
      expect(unpinned).to.deep.equal([], 'not while the transaction lingers');
      clock.advance(1);
      expect(unpinned).to.deep.equal([row.request.headers['call-id']]);
    });
  }

  it("never unpins the Call-ID of a live call refused a merged request (482), only after the call's own linger", () => {
    const { port, clock, unpinned, handler } = setup();
    handler.handle(request('INVITE', 'live'), CARRIER);
    const [branch] = port.sent;
    branch.respond(responseTo(branch.request, 180));
    clock.advance(1000);
    const merged = request('INVITE', 'live');
    merged.headers.via = [{ host: '198.51.100.9', port: 5060, params: { branch: 'z9hG4bKother-path' } }];
    handler.handle(merged, CARRIER);
    expect(port.replies.map((reply) => reply.status)).to.deep.equal([100, 482]);

    clock.advance(DIALOG_LINGER_MS);
    expect(unpinned).to.deep.equal([], 'the call is still ringing');
    branch.respond(responseTo(branch.request, 486));
    clock.advance(DIALOG_LINGER_MS - 1);
    expect(unpinned).to.deep.equal([]);
    clock.advance(1);
    expect(unpinned).to.deep.equal(['live']);
  });

  it("an answered call's Call-ID goes 64*T1 after its BYE, on the dialog's one timer; a refusal lingering then keeps it", () => {
    const { port, clock, unpinned, handler } = setup();
    handler.handle(request('INVITE', 'answered'), CARRIER);
    const [branch] = port.sent;
    branch.respond(responseTo(branch.request, 200, { to: { ...branch.request.headers.to, params: { tag: 'pbx' } } }));
    expect(clock.pending()).to.equal(1, "the dialog's maximum call length only: no linger timer for the setup");
    clock.advance(1000);
    handler.handle(request('BYE', 'answered', {}, 'pbx'), CARRIER);
    clock.advance(DIALOG_LINGER_MS - 1000);
    handler.handle(request('MESSAGE', 'answered'), CARRIER);
    clock.advance(1000);
    expect(unpinned).to.deep.equal([], 'the dialog is gone, the refused MESSAGE still lingers');
    clock.advance(DIALOG_LINGER_MS - 1000);
    expect(unpinned).to.deep.equal(['answered']);
  });

  it('waits for the last of several lingers of one Call-ID', () => {
    const { clock, unpinned, handler } = setup();
    handler.handle(request('BYE', 'twice'), CARRIER);
    clock.advance(DIALOG_LINGER_MS / 2);
    handler.handle(request('BYE', 'twice'), CARRIER);
    clock.advance(DIALOG_LINGER_MS / 2);
    expect(unpinned).to.deep.equal([]);
    clock.advance(DIALOG_LINGER_MS / 2);
    expect(unpinned).to.deep.equal(['twice']);
  });

  it('logs untrusted INVITEs at most once per interval, with the count since the last line', () => {
    const { clock, lines, handler } = setup();
    for (let i = 0; i < 25; i++) {
      handler.handle(request('INVITE', `flood-${i}`), STRANGER);
      clock.advance(UNTRUSTED_LOG_INTERVAL_MS / 10);
    }
    expect(lines.map((line) => line.count)).to.deep.equal([1, 10, 10]);
  });

  it("uses the overload Retry-After constant: the worker's own, not a literal", () => {
    const { port, handler } = setup({ overloaded: true });
    handler.handle(request('INVITE', 'shed'), CARRIER);
    expect(port.replies[0].extension?.headers?.['retry-after']).to.equal('1');
  });
});

describe('loop detection uses the one "is this us" test', () => {
  for (const host of ['2001:db8::1', '2001:DB8::0:1', '[2001:db8:0::1]']) {
    it(`482 for a request with our Via as ${host}`, () => {
      const { port, handler } = setup({ port: new V6Port() });
      const looped = request('INVITE', 'loop');
      looped.headers.via = [{ host, params: { branch: 'z9hG4bKloop' } }, ...looped.headers.via];
      handler.handle(looped, CARRIER);
      expect(port.replies.map((reply) => reply.status)).to.deep.equal([482]);
    });
  }

  it('no loop for our host at another port', () => {
    const { port, handler } = setup({ port: new V6Port() });
    const other = request('INVITE', 'no-loop');
    other.headers.via = [{ host: '2001:db8::1', port: 5070, params: { branch: 'z9hG4bKnl' } }, ...other.headers.via];
    handler.handle(other, CARRIER);
    expect(port.replies.map((reply) => reply.status)).to.not.include(482);
  });
});

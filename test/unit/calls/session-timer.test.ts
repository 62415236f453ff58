import { expect } from 'chai';
import { reapAfterSeconds, sessionAnswer, sessionExpiresOf, sessionRequest, supportsTimer } from '../../../worker/calls/session-timer';
import type { SipHeaders, SipRequest, SipResponse } from '../../../worker/sip/message';

function invite(extra: Record<string, unknown> = {}): SipRequest {
  return {
    method: 'INVITE',
    uri: 'sip:+442079460001@192.0.2.1',
    headers: {
      via: [{ host: '198.51.100.7', port: 5060, params: { branch: 'z9hG4bKst' } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
      from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
      'call-id': 'st-1',
      cseq: { seq: 1, method: 'INVITE' },
      ...extra,
    },
  };
}

/** A response as a UAS makes it: the request's dialog headers, its own extension headers. */
function ok(request: SipRequest, extra: Record<string, unknown> = {}, status = 200): SipResponse {
  const { via, from, cseq } = request.headers;
  return { status, reason: 'OK', headers: { via, from, cseq, 'call-id': request.headers['call-id'], to: { ...request.headers.to, params: { tag: 'b' } }, ...extra } };
}

/** Only the session timer headers, for comparing. */
function timerHeaders(headers: SipHeaders): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of ['session-expires', 'x', 'min-se', 'supported', 'require']) if (headers[name] !== undefined) picked[name] = headers[name];
  return picked;
}

describe('session timers: reading the headers (RFC 4028 sections 4, 5)', () => {
  const rows: { headers: Record<string, unknown>; expected: ReturnType<typeof sessionExpiresOf> }[] = [
    { headers: {}, expected: null },
    { headers: { 'session-expires': '1800' }, expected: { seconds: 1800, refresher: null } },
    { headers: { 'session-expires': '90;refresher=uac' }, expected: { seconds: 90, refresher: 'uac' } },
    { headers: { 'session-expires': ' 4000 ; Refresher = UAS ; x=y' }, expected: { seconds: 4000, refresher: 'uas' } },
    { headers: { x: '600;refresher=uas' }, expected: { seconds: 600, refresher: 'uas' } },
    { headers: { 'session-expires': '600;refresher=both' }, expected: { seconds: 600, refresher: null } },
    { headers: { 'session-expires': '1800,900' }, expected: { seconds: 1800, refresher: null } },
    { headers: { 'session-expires': 'soon' }, expected: null },
    { headers: { 'session-expires': '-5' }, expected: null },
    { headers: { 'session-expires': '99999999999' }, expected: { seconds: 2 ** 31 - 1, refresher: null } },
    { headers: { 'session-expires': '999999999999' }, expected: { seconds: 2 ** 31 - 1, refresher: null } },
    { headers: { 'session-expires': '9999999999999' }, expected: null },
    { headers: { 'session-expires': '' }, expected: null },
    { headers: { 'session-expires': ';refresher=uac' }, expected: null },
    { headers: { 'session-expires': '1e3' }, expected: null },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.headers)} -> ${JSON.stringify(row.expected)}`, () => {
      expect(sessionExpiresOf(invite(row.headers).headers)).to.deep.equal(row.expected);
    });
  }

  it('finds the timer option tag in Supported (also compact k, parsed as supported) and Require, in any case', () => {
    expect(supportsTimer(invite({ supported: '100rel, Timer' }).headers)).to.equal(true);
    expect(supportsTimer(invite({ require: 'timer' }).headers)).to.equal(true);
    expect(supportsTimer(invite({ supported: '100rel, timers' }).headers)).to.equal(false);
    expect(supportsTimer(invite().headers)).to.equal(false);
  });
});

describe('session timers: a refresh request through the proxy (RFC 4028 section 8.1)', () => {
  const rows: { what: string; headers: Record<string, unknown>; expected: { reject: number } | Record<string, unknown> }[] = [
    { what: 'no Session-Expires: ours is inserted, without refresher, with our Min-SE', headers: {}, expected: { 'session-expires': '1800', 'min-se': '90' } },
    {
      what: 'no Session-Expires but a Min-SE above our default: Session-Expires is that Min-SE',
      headers: { supported: 'timer', 'min-se': '3600' },
      expected: { supported: 'timer', 'session-expires': '3600', 'min-se': '3600' },
    },
    { what: 'Session-Expires 90 (the minimum) passes untouched', headers: { supported: 'timer', 'session-expires': '90' }, expected: { supported: 'timer', 'session-expires': '90' } },
    {
      what: 'a long Session-Expires is respected, refresher kept',
      headers: { 'session-expires': '7200;refresher=uac', supported: 'timer' },
      expected: { 'session-expires': '7200;refresher=uac', supported: 'timer' },
    },
    {
      what: 'above a day: lowered to a day, refresher kept',
      headers: { supported: 'timer', 'session-expires': '100000;refresher=uas' },
      expected: { supported: 'timer', 'session-expires': '86400;refresher=uas', 'min-se': '90' },
    },
    {
      what: 'above a day with a Min-SE above a day: lowered to that Min-SE, never below it',
      headers: { 'session-expires': '200000', 'min-se': '150000' },
      expected: { 'session-expires': '150000', 'min-se': '150000' },
    },
    { what: 'exactly a day passes untouched', headers: { 'session-expires': '86400' }, expected: { 'session-expires': '86400' } },
    { what: 'below our minimum from a UAC that supports timers: 422 with Min-SE 90', headers: { supported: 'timer', 'session-expires': '60' }, expected: { reject: 90 } },
    { what: 'below our minimum, compact form x: 422', headers: { supported: 'timer', x: '30' }, expected: { reject: 90 } },
    {
      what: 'below our minimum from a UAC without timer support: raised to the minimum, Min-SE added (it could not read a 422)',
      headers: { 'session-expires': '60;refresher=uac' },
      expected: { 'session-expires': '90;refresher=uac', 'min-se': '90' },
    },
    {
      what: 'a Min-SE below ours is raised to ours',
      headers: { supported: 'timer', 'session-expires': '1800', 'min-se': '30' },
      expected: { supported: 'timer', 'session-expires': '1800', 'min-se': '90' },
    },
    {
      what: 'a Min-SE past the largest delta-seconds is read as 2^31 - 1 (the 2xx is then timed at a day at most)',
      headers: { 'min-se': '99999999999' },
      expected: { 'session-expires': '2147483647', 'min-se': '2147483647' },
    },
    {
      what: 'a Min-SE of more digits than are read (13) is ignored',
      headers: { supported: 'timer', 'session-expires': '1800', 'min-se': '1234567890123' },
      expected: { supported: 'timer', 'session-expires': '1800', 'min-se': '1234567890123' },
    },
    {
      what: 'a Min-SE that is not a number: ours is inserted with the default Session-Expires',
      headers: { 'min-se': 'soon' },
      expected: { 'session-expires': '1800', 'min-se': '90' },
    },
    {
      what: 'an unreadable Session-Expires (13 digits) is replaced by ours',
      headers: { 'session-expires': '9999999999999;refresher=uac' },
      expected: { 'session-expires': '1800', 'min-se': '90' },
    },
    {
      what: 'a compact x is rewritten as Session-Expires when changed',
      headers: { x: '45' },
      expected: { 'session-expires': '90', 'min-se': '90' },
    },
  ];
  for (const row of rows) {
    it(row.what, () => {
      const verdict = sessionRequest(invite(row.headers));
      if ('reject' in row.expected) {
        expect(verdict).to.deep.equal({ kind: 'reject', minSe: row.expected.reject });
        return;
      }
      expect(verdict.kind).to.equal('forward');
      if (verdict.kind === 'forward') expect(timerHeaders(verdict.request.headers)).to.deep.equal(row.expected);
    });
  }

  it('leaves the received request alone', () => {
    const received = invite({ 'session-expires': '60' });
    sessionRequest(received);
    sessionRequest(invite());
    expect(timerHeaders(received.headers)).to.deep.equal({ 'session-expires': '60' });
  });
});

describe('session timers: the 2xx through the proxy (RFC 4028 section 8.2)', () => {
  const rows: {
    what: string;
    request: Record<string, unknown>;
    response: Record<string, unknown>;
    status?: number;
    timer: { seconds: number; refresher: string | null } | null;
    inserted?: Record<string, unknown>;
  }[] = [
    { what: 'a 2xx with Session-Expires: that interval and refresher', request: { 'session-expires': '1800' }, response: { 'session-expires': '1800;refresher=uas' }, timer: { seconds: 1800, refresher: 'uas' } },
    { what: 'a 2xx with a shorter one: the shorter one', request: { supported: 'timer', 'session-expires': '1800' }, response: { 'session-expires': '90;refresher=uac', require: 'timer' }, timer: { seconds: 90, refresher: 'uac' } },
    { what: 'a 2xx under the minimum is read as the minimum (never reaped early)', request: { 'session-expires': '1800' }, response: { 'session-expires': '30;refresher=uas' }, timer: { seconds: 90, refresher: 'uas' } },
    { what: 'a 2xx over a day is read as a day (a dead call never holds its channel longer)', request: { 'session-expires': '1800' }, response: { 'session-expires': '999999;refresher=uas' }, timer: { seconds: 86_400, refresher: 'uas' } },
    {
      what: 'no Session-Expires in the 2xx after the largest one we forward: timed and inserted at a day',
      request: { supported: 'timer', 'session-expires': '2147483647', 'min-se': '2147483647' },
      response: {},
      timer: { seconds: 86_400, refresher: 'uac' },
      inserted: { 'session-expires': '86400;refresher=uac', require: 'timer' },
    },
    { what: 'a 2xx without refresher: interval, refresher unknown', request: { 'session-expires': '1800' }, response: { 'session-expires': '1800' }, timer: { seconds: 1800, refresher: null } },
    {
      what: 'no Session-Expires in the 2xx, UAC supports timers: refresher=uac and Require: timer inserted',
      request: { supported: 'timer', 'session-expires': '1800' },
      response: {},
      timer: { seconds: 1800, refresher: 'uac' },
      inserted: { 'session-expires': '1800;refresher=uac', require: 'timer' },
    },
    {
      what: 'the same with a Require already there: timer appended',
      request: { supported: '100rel, timer', 'session-expires': '600' },
      response: { require: '100rel' },
      timer: { seconds: 600, refresher: 'uac' },
      inserted: { 'session-expires': '600;refresher=uac', require: '100rel, timer' },
    },
    { what: 'neither end supports timers: no timer, nothing inserted', request: { 'session-expires': '1800', 'min-se': '90' }, response: {}, timer: null, inserted: {} },
    { what: 'a request without Session-Expires and a 2xx without: no timer', request: { supported: 'timer' }, response: {}, timer: null, inserted: {} },
    { what: 'not a 2xx: nothing', request: { supported: 'timer', 'session-expires': '1800' }, response: {}, status: 486, timer: null, inserted: {} },
  ];
  for (const row of rows) {
    it(row.what, () => {
      const request = invite(row.request);
      const response = ok(request, row.response, row.status);
      const result = sessionAnswer(request, response);
      expect(result.timer).to.deep.equal(row.timer);
      expect(timerHeaders(result.response.headers)).to.deep.equal(row.inserted ?? row.response);
      expect(timerHeaders(response.headers)).to.deep.equal(row.response, 'the received 2xx is left alone');
    });
  }
});

describe('session timers: when we end a session nobody refreshed (RFC 4028 section 10)', () => {
  const rows: [number, number][] = [
    [90, 120],
    [96, 128],
    [1800, 1832],
    [86_400, 86_432],
  ];
  for (const [interval, after] of rows) {
    it(`interval ${interval} s: ${after} s after the last refresh (grace min(32 s, interval / 3))`, () => {
      expect(reapAfterSeconds(interval)).to.equal(after);
    });
  }
});

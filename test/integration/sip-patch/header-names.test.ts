import { expect } from 'chai';
import type * as Sip from 'sip';
import { heapUsedAfterCollection } from '../../support/collected';

/**
 * The parser caches header names as written (bounded at 512 names). The names it keeps are strings
 * of their own: cut from a datagram's text they would be slices of it, and a peer sending a new
 * name in every message would keep 512 whole datagrams alive for the life of the worker.
 */
function freshSip(): typeof Sip {
  const id = require.resolve('sip');
  const cached = require.cache[id];
  delete require.cache[id];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('sip') as typeof Sip;
  } finally {
    if (cached !== undefined) require.cache[id] = cached;
  }
}

/** A 60 KB OPTIONS with a header name of its own, as a hostile peer might send. */
function message(i: number): string {
  return [
    'OPTIONS sip:probe@192.0.2.1 SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-${i}`,
    'To: <sip:probe@192.0.2.1>',
    `From: <sip:peer@192.0.2.9>;tag=${i}`,
    `Call-ID: header-names-${i}`,
    'CSeq: 1 OPTIONS',
    `X-Unheard-Of-Header-Name-${String(i).padStart(4, '0')}: ${'a'.repeat(60_000)}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('sip patch: the header-name cache keeps no datagram alive', () => {
  it('600 messages, each with a new long header name and 60 KB of text, leave well under 1 MB behind', async () => {
    const sip = freshSip();
    const before = await heapUsedAfterCollection();
    for (let i = 0; i < 600; i++) {
      const parsed = sip.parse(message(i));
      expect(parsed?.headers[`x-unheard-of-header-name-${String(i).padStart(4, '0')}`]).to.be.a('string');
    }
    const kept = (await heapUsedAfterCollection()) - before;
    expect(kept).to.be.below(1_000_000, `${kept} bytes kept; 512 cached names slicing their datagrams would keep about 30 MB`);
  });
});

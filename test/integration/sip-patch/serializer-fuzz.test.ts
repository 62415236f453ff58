import { expect } from 'chai';
import * as sip from 'sip';
import { fuzzDatagrams, type FuzzTarget } from '../../support/sip-fuzz';

/**
 * Everything the parser produces, the serialiser takes (seeded, bounded fuzz). Unpatched, a Route or
 * Record-Route with an IPv6 reference, an upper-case scheme or a tel: URI parsed into an entry with no URI, and
 * serialising the message threw. Here every datagram that parses must serialise without throwing, as a message
 * and as the response made from it, and serialising is stable: parse(stringify(m)) serialises the same again.
 */
describe('sip patch: parser and serialiser under fuzzing', () => {
  const target: FuzzTarget = { host: '192.0.2.1', port: 5060, did: '+4930901820', unknownDid: '+4930000000', viaPort: 5070 };
  const SEED = 0x5eed_0006;
  const COUNT = 20_000;

  it(`serialises every one of ${COUNT} fuzzed datagrams that parse, stably`, function () {
    this.timeout(30_000);
    let parsed = 0;
    const failures: string[] = [];
    for (const { data, template } of fuzzDatagrams(SEED, COUNT, target)) {
      const message = sip.parse(data);
      if (message === undefined) continue;
      parsed++;
      try {
        const text = sip.stringify(message);
        const again = sip.parse(text);
        if (again === undefined) throw new Error('the serialised message does not parse');
        if (sip.stringify(again) !== text) throw new Error(`not stable:\n${text}\n---\n${sip.stringify(again)}`);
        if ('method' in message && Array.isArray(message.headers.via) && message.headers.to && message.headers.from && message.headers.cseq) {
          sip.stringify(sip.makeResponse(message, 400, 'Bad Request'));
        }
      } catch (error) {
        if (failures.length < 5) failures.push(`template ${template}: ${(error as Error).message}\n${data.toString('binary').slice(0, 2000)}`);
      }
    }
    expect(failures, failures.join('\n=====\n')).to.deep.equal([]);
    expect(parsed).to.be.above(COUNT / 4);
  });
});

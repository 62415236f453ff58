import { expect } from 'chai';
import { attemptResult, DEFAULT_DELIVERY_BACKOFF, retryDelayMs, trunkEventBody } from '../../domain/webhook-delivery';

describe('webhook delivery rules (domain/webhook-delivery)', () => {
  it('writes the trunk event as JSON with its fields in a fixed order', () => {
    const body = trunkEventBody({
      id: '42', trunkId: 't-1', companyId: 'c-1', type: 'FAILOVER_STARTED', reason: 'PROBES_FAILING', at: new Date('2026-12-07T10:00:00.123Z'),
    });
    expect(body).to.equal('{"id":"42","trunkId":"t-1","companyId":"c-1","type":"FAILOVER_STARTED","reason":"PROBES_FAILING","at":"2026-12-07T10:00:00.123Z"}');
  });

  const results = [
    { answer: { kind: 'answer', status: 200, body: '' }, expected: { delivered: true, httpStatus: 200, error: null } },
    { answer: { kind: 'answer', status: 204, body: '' }, expected: { delivered: true, httpStatus: 204, error: null } },
    { answer: { kind: 'answer', status: 301, body: '' }, expected: { delivered: false, httpStatus: 301, error: null } },
    { answer: { kind: 'answer', status: 503, body: '' }, expected: { delivered: false, httpStatus: 503, error: null } },
    { answer: { kind: 'failure', failure: 'TIMEOUT' }, expected: { delivered: false, httpStatus: null, error: 'TIMEOUT' } },
    {
      answer: { kind: 'failure', failure: 'REFUSED_DESTINATION', detail: '10.0.0.1: private' },
      expected: { delivered: false, httpStatus: null, error: 'REFUSED_DESTINATION: 10.0.0.1: private' },
    },
  ] as const;
  for (const { answer, expected } of results) {
    it(`records ${JSON.stringify(answer)} as ${expected.delivered ? 'delivered' : 'a failed attempt'}`, () => {
      expect(attemptResult(answer)).to.deep.equal(expected);
    });
  }

  it('backs off 10 s, 20 s, 40 s ... up to an hour, each delay drawn from its upper half', () => {
    // A random of 1 (never drawn) shows the ceilings.
    const ceilings = [1, 2, 3, 4, 9, 10, 20, 100].map((failed) => retryDelayMs(failed, DEFAULT_DELIVERY_BACKOFF, () => 1));
    expect(ceilings).to.deep.equal([10_000, 20_000, 40_000, 80_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000]);
    expect(retryDelayMs(1, DEFAULT_DELIVERY_BACKOFF, () => 0)).to.equal(5_000);
    expect(retryDelayMs(3, DEFAULT_DELIVERY_BACKOFF, () => 0.5)).to.equal(30_000);
  });
});

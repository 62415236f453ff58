/** The median of `values` (sorts them in place). */
export const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A call's offer as carriers send it: G.711 and telephone events, for the benchmarks' INVITEs. */
export const BENCH_SDP_LINES: readonly string[] = [
  'v=0',
  'o=- 1234 1234 IN IP4 198.51.100.10',
  's=-',
  'c=IN IP4 198.51.100.10',
  't=0 0',
  'm=audio 16384 RTP/AVP 8 0 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
];

/**
 * Median nanoseconds per call of `body` over `rounds` rounds of `iterations`, after one warm-up
 * round. `body`'s truthy answers are counted so that the loop cannot be optimised away.
 */
export function measure(iterations: number, body: (i: number) => unknown, rounds: number): number {
  let sink = 0;
  for (let i = 0; i < iterations; i++) if (body(i)) sink++;
  const perOp: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const began = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (body(i)) sink++;
    perOp.push(Number(process.hrtime.bigint() - began) / iterations);
  }
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return median(perOp);
}

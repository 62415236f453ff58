import { expect } from 'chai';
import type { DidTarget } from '../../../worker/config/snapshot';
import { presentingNumber } from '../../../worker/dialplan/caller-id';
import { dialPlanNumber } from '../../../worker/dialplan/plan-number';
import type { SipRequest } from '../../../worker/sip/message';

const invite = (from: SipRequest['headers']['from'], extra: Record<string, unknown> = {}): SipRequest => ({
  method: 'INVITE',
  uri: 'sip:+447911123456@198.51.100.20',
  headers: {
    via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKp' } }],
    to: { uri: 'sip:+447911123456@198.51.100.20', params: {} },
    from,
    'call-id': 'present-1',
    cseq: { seq: 1, method: 'INVITE' },
    ...extra,
  },
});

describe('presentingNumber: a forwarded INVITE presenting the dial plan number', () => {
  const rows: { name: string; from: SipRequest['headers']['from']; extra?: Record<string, unknown>; fromUri: string }[] = [
    { name: 'a sip From: the user becomes the number, host and parameters kept', from: { name: '"Alice"', uri: 'sip:+4930901820@carrier.example;user=phone', params: { tag: 'a1' } }, fromUri: 'sip:+442079460999@carrier.example;user=phone' },
    { name: 'an anonymous From', from: { uri: 'sip:anonymous@anonymous.invalid', params: { tag: 'a2' } }, fromUri: 'sip:+442079460999@anonymous.invalid' },
    { name: 'an IPv6 host with a port', from: { uri: 'sip:bob@[2001:db8::1]:5070', params: { tag: 'a3' } }, fromUri: 'sip:+442079460999@[2001:db8::1]:5070' },
    { name: 'a sips From stays sips', from: { uri: 'sips:bob@carrier.example', params: { tag: 'a4' } }, fromUri: 'sips:+442079460999@carrier.example' },
    { name: 'a tel From becomes a tel URI of the number', from: { uri: 'tel:+4930901820', params: { tag: 'a5' } }, fromUri: 'tel:+442079460999' },
    {
      name: "the caller's carrier P-Asserted-Identity is replaced, not added to",
      from: { uri: 'sip:+4930901820@carrier.example', params: { tag: 'a6' } },
      extra: { 'p-asserted-identity': '<sip:+4930901820@carrier.example>' },
      fromUri: 'sip:+442079460999@carrier.example',
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const original = invite(row.from, row.extra);
      const before = JSON.stringify(original);
      const presented = presentingNumber(original, '+442079460999');
      expect(presented.headers.from).to.deep.equal({ uri: row.fromUri, params: row.from.params }, 'From tag kept, display name dropped');
      expect(presented.headers['p-asserted-identity']).to.equal('<tel:+442079460999>');
      expect(presented.headers['call-id']).to.equal('present-1');
      expect(JSON.stringify(original)).to.equal(before, 'the received INVITE is not changed');
    });
  }
});

describe('dialPlanNumber: a dial plan external number from the snapshot numbers', () => {
  it('finds the number of a plan, null for a plan or trunk without one, and follows a new numbers map', () => {
    const dids = new Map<string, DidTarget>([
      ['+442079460001', { kind: 'trunk', trunkId: 'plan-a' }],
      ['+442079460999', { kind: 'dialPlan', dialPlanId: 'plan-a' }],
    ]);
    expect(dialPlanNumber(dids, 'plan-a')).to.equal('+442079460999');
    expect(dialPlanNumber(dids, 'plan-b')).to.equal(null);
    const reloaded = new Map<string, DidTarget>([['+442079460998', { kind: 'dialPlan', dialPlanId: 'plan-b' }]]);
    expect(dialPlanNumber(reloaded, 'plan-a')).to.equal(null);
    expect(dialPlanNumber(reloaded, 'plan-b')).to.equal('+442079460998');
  });
});

import { expect } from 'chai';
import * as sip from 'sip';
import { FailoverReason } from '../../../domain/call';
import { privacyOf } from '../../../worker/calls/privacy';
import { webhookCallFacts } from '../../../worker/dialplan/apps/webhook';
import type { PlanCall } from '../../../worker/dialplan/runner';
import type { SipRequest } from '../../../worker/sip/message';
import { planInvite } from '../../support/plan-call';
import { FakeClock } from '../../support/fakes';

function withPrivacy(privacy: unknown): SipRequest {
  const invite = planInvite('privacy-1', 'z9hG4bKp', 'sip:+4930901820@carrier');
  return privacy === undefined ? invite : { ...invite, headers: { ...invite.headers, privacy } as SipRequest['headers'] };
}

/** The facts a WEBHOOK step would send for this INVITE. */
function facts(invite: SipRequest) {
  const call = { invite, facts: { companyId: 'c', trunkId: 't', failoverReason: FailoverReason.NOT_REGISTERED }, clock: new FakeClock() } as unknown as PlanCall;
  return webhookCallFacts(call);
}

describe('caller privacy (worker/calls/privacy)', () => {
  const cases: { name: string; header: unknown; privacy: string | null; hidden: boolean }[] = [
    { name: 'no Privacy header', header: undefined, privacy: null, hidden: false },
    { name: 'Privacy: none', header: 'none', privacy: 'none', hidden: false },
    { name: 'Privacy: id', header: 'id', privacy: 'id', hidden: true },
    { name: 'Privacy: session;id', header: 'session;id', privacy: 'session;id', hidden: true },
    { name: 'Privacy sent twice, id in the second', header: 'session,id', privacy: 'session,id', hidden: true },
    { name: 'Privacy sent twice, header in the first', header: 'header,critical', privacy: 'header,critical', hidden: true },
    { name: 'Privacy sent twice, identity in neither', header: 'session,critical', privacy: 'session,critical', hidden: false },
    { name: 'a value that is not text', header: 7, privacy: null, hidden: false },
  ];
  for (const { name, header, privacy, hidden } of cases) {
    it(`${name}: reads ${JSON.stringify(privacy)}; the WEBHOOK's caller is ${hidden ? 'hidden' : 'sent'}`, () => {
      const invite = withPrivacy(header);
      expect(privacyOf(invite)).to.equal(privacy);
      expect(facts(invite).caller).to.equal(hidden ? null : '+4930901820');
    });
  }

  it('a Privacy header sent twice, as the parser hands it over: one string, joined by a comma', () => {
    const text = ['INVITE sip:+442079460001@192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKp', 'To: <sip:+442079460001@192.0.2.1>', 'From: <sip:+4930901820@carrier>;tag=a', 'Call-ID: privacy-2', 'CSeq: 1 INVITE', 'Privacy: session', 'Privacy: id', 'Content-Length: 0', '', ''].join('\r\n');
    const parsed = sip.parse(text) as unknown as SipRequest;
    expect(privacyOf(parsed)).to.equal('session,id');
    expect(facts({ ...withPrivacy(undefined), headers: { ...withPrivacy(undefined).headers, privacy: parsed.headers.privacy } as SipRequest['headers'] }).caller).to.equal(null);
  });
});

import type { PlanCall } from '../../worker/dialplan/runner';
import type { SipRequest } from '../../worker/sip/message';

/**
 * What a plan runner test's call provides when the test does not care: no company data, no plan
 * numbers, no webhooks, no forks or trunk registrations, never ended. A test spreads this first and
 * sets what its apps read.
 */
export const PLAN_CALL_DEFAULTS: Pick<
  PlanCall,
  'companyId' | 'snapshot' | 'dialPlanNumber' | 'facts' | 'webhookAllowedNetworks' | 'webhookClient' | 'ended' | 'abort' | 'startBranchSet' | 'trunkBinding'
> = {
  companyId: 'company',
  snapshot: { dialPlans: new Map(), companies: new Map() },
  dialPlanNumber: () => null,
  facts: { companyId: 'company', trunkId: 'trunk', failoverReason: 'NOT_REGISTERED' },
  webhookAllowedNetworks: [],
  webhookClient: { send: () => new Promise(() => undefined) },
  ended: new AbortController().signal,
  abort: () => undefined,
  startBranchSet: () => undefined,
  trunkBinding: () => null,
};

/** A carrier's INVITE to +442079460001 (from +4930901820 unless `from` says): the caller's leg a plan's branches copy. */
export function planInvite(callId: string, branch: string, from = 'sip:+4930901820@carrier'): SipRequest {
  return {
    method: 'INVITE',
    uri: 'sip:+442079460001@192.0.2.1',
    headers: {
      via: [{ host: '198.51.100.7', params: { branch } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
      from: { uri: from, params: { tag: 'a' } },
      'call-id': callId,
      cseq: { seq: 1, method: 'INVITE' },
    },
  };
}

import type { PlanCall, PlanSnapshot } from '../../worker/dialplan/runner';
import type { SipRequest } from '../../worker/sip/message';
import { SILENT_WEBHOOK_CLIENT } from './fakes';

/** A plan's snapshot with no dial plans or companies, no outbound gateway and no webhook networks, unless `parts` says. */
export function planSnapshot(parts: Partial<PlanSnapshot> = {}): PlanSnapshot {
  return { dialPlans: new Map(), companies: new Map(), outboundGateway: null, webhookAllowedNetworks: [], ...parts };
}

/**
 * What a plan runner test's call provides when the test does not care: no company data, no plan
 * numbers, no webhooks, no forks or trunk registrations, never ended. A test spreads this first and
 * sets what its apps read.
 */
export const PLAN_CALL_DEFAULTS: Pick<PlanCall, 'snapshot' | 'dialPlanNumber' | 'facts' | 'webhookClient' | 'ended' | 'abort' | 'startBranchSet' | 'trunkBinding'> = {
  snapshot: planSnapshot(),
  dialPlanNumber: () => null,
  facts: { companyId: 'company', trunkId: 'trunk', failoverReason: 'NOT_REGISTERED' },
  webhookClient: SILENT_WEBHOOK_CLIENT,
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

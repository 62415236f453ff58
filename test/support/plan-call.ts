import type { PlanCall } from '../../worker/dialplan/runner';

/**
 * What a plan runner test's call provides when the test does not care: no company data, no plan
 * numbers, no webhooks, no forks or trunk registrations, never over. A test spreads this first and
 * sets what its apps read.
 */
export const PLAN_CALL_DEFAULTS: Pick<
  PlanCall,
  'companyId' | 'snapshot' | 'dialPlanNumber' | 'facts' | 'webhookAllowedNetworks' | 'webhookClient' | 'isOver' | 'startBranchSet' | 'trunkBinding'
> = {
  companyId: 'company',
  snapshot: { dialPlans: new Map(), companies: new Map() },
  dialPlanNumber: () => null,
  facts: { companyId: 'company', trunkId: 'trunk', failoverReason: 'NOT_REGISTERED' },
  webhookAllowedNetworks: [],
  webhookClient: { send: () => new Promise(() => undefined) },
  isOver: () => false,
  startBranchSet: () => undefined,
  trunkBinding: () => null,
};

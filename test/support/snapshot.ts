import { DEFAULT_MAX_CALL_LENGTH_SECONDS } from '../../domain/call-limits';
import { DigestAlgorithm } from '../../domain/digest';
import { DialPlanApp, type Flow } from '../../domain/flow/flow';
import type { CarrierConfig, DialPlanConfig, DidTarget, RegistrationBinding, Snapshot, TrunkConfig, TrunkHealthView } from '../../worker/config/snapshot';

/** Builds in-memory snapshots for pure tests of routing and the call layer. */
export function trunkConfig(
  overrides: Partial<Omit<TrunkConfig, 'failover' | 'healthCheck'>> & { failover?: Partial<TrunkConfig['failover']>; healthCheck?: Partial<TrunkConfig['healthCheck']> } = {},
): TrunkConfig {
  const { failover, healthCheck, ...rest } = overrides;
  return {
    id: 'trunk-1',
    companyId: 'company-1',
    name: 'Main PBX',
    sipUsername: 'pbx1',
    digestRealm: 'trunks.test',
    ha1: { [DigestAlgorithm.MD5]: 'md5', [DigestAlgorithm.SHA256]: 'sha' },
    digestAlgorithms: [DigestAlgorithm.MD5, DigestAlgorithm.SHA256],
    maxConcurrentCalls: 2,
    ...rest,
    failover: {
      enabled: true,
      dialPlanId: 'plan-1',
      noProvisionalTimeoutMs: 15_000,
      triggerStatusCodes: new Set(Array.from({ length: 100 }, (_, i) => 500 + i)),
      ...failover,
    },
    healthCheck: { enabled: false, intervalMs: 30_000, failuresToDown: 3, successesToUp: 2, ...healthCheck },
  };
}

export function binding(overrides: Partial<RegistrationBinding> = {}): RegistrationBinding {
  return {
    id: 'reg-1',
    trunkId: 'trunk-1',
    contact: 'sip:pbx1@10.0.0.5:5060',
    sourceAddress: '127.0.0.1',
    sourcePort: 40000,
    expiresAt: 2_000_000,
    userAgent: 'Test PBX',
    updatedAt: 1_000_000,
    ...overrides,
  };
}

export const HANGUP_FLOW: Flow = { entryStepId: 'busy', steps: [{ id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] }] };

export function dialPlanConfig(overrides: Partial<DialPlanConfig> = {}): DialPlanConfig {
  return { id: 'plan-1', companyId: 'company-1', name: 'Failover', flow: HANGUP_FLOW, ...overrides };
}

export interface SnapshotParts {
  trunks?: TrunkConfig[];
  dialPlans?: DialPlanConfig[];
  dids?: [string, DidTarget][];
  registrations?: RegistrationBinding[];
  carriers?: CarrierConfig[];
  carrierOf?: Snapshot['carrierOf'];
  outboundGateway?: string | null;
  webhookAllowedNetworks?: readonly string[];
  health?: [string, TrunkHealthView][];
  maxCallLengthSeconds?: number;
}

export function snapshotOf(parts: SnapshotParts = {}): Snapshot {
  const trunks = parts.trunks ?? [trunkConfig()];
  const registrations = new Map<string, RegistrationBinding[]>();
  for (const entry of parts.registrations ?? []) registrations.set(entry.trunkId, [...(registrations.get(entry.trunkId) ?? []), entry]);
  return {
    version: 1,
    trunks: new Map(trunks.map((trunk) => [trunk.id, trunk])),
    trunksByUsername: new Map(trunks.map((trunk) => [trunk.sipUsername.toLowerCase(), trunk])),
    dids: new Map(parts.dids ?? [['+442079460001', { kind: 'trunk', trunkId: 'trunk-1' }]]),
    dialPlans: new Map((parts.dialPlans ?? [dialPlanConfig()]).map((plan) => [plan.id, plan])),
    registrations,
    carriers: parts.carriers ?? [],
    carrierOf: parts.carrierOf ?? (() => null),
    outboundGateway: parts.outboundGateway ?? null,
    webhookAllowedNetworks: parts.webhookAllowedNetworks ?? [],
    maxCallLengthSeconds: parts.maxCallLengthSeconds ?? DEFAULT_MAX_CALL_LENGTH_SECONDS,
    companies: new Map([['company-1', { id: 'company-1', timeZone: 'Europe/London' }]]),
    health: new Map(parts.health ?? []),
  };
}

import type { DigestAlgorithm } from '../../domain/digest';
import type { Flow } from '../../domain/flow/flow';
import type { TrunkDownReason, TrunkHealthState } from '../../domain/trunk-health';

/**
 * The configuration a SIP worker serves calls from: an immutable snapshot, replaced as a whole
 * by one assignment when a notification brings a change. A call keeps the snapshot it started
 * with. Nothing on the call path queries the database.
 */
export interface TrunkConfig {
  readonly id: string;
  readonly companyId: string;
  readonly name: string;
  readonly sipUsername: string;
  /** The realm the HA1 hashes were computed for. */
  readonly digestRealm: string;
  readonly ha1: Readonly<Record<DigestAlgorithm, string>>;
  /** Challenge order. */
  readonly digestAlgorithms: readonly DigestAlgorithm[];
  readonly maxConcurrentCalls: number;
  readonly failover: FailoverConfig;
  readonly healthCheck: HealthCheckConfig;
}

/** OPTIONS probing of the trunk's registered contacts, and the thresholds every kind of evidence uses. */
export interface HealthCheckConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly failuresToDown: number;
  readonly successesToUp: number;
}

/** A trunk's shared health as routing reads it (domain/trunk-health.ts); the counts stay in the database. */
export interface TrunkHealthView {
  readonly state: TrunkHealthState;
  readonly reason: TrunkDownReason | null;
  readonly registered: boolean;
  /** Epoch milliseconds of the last change of state or reason. */
  readonly since: number;
}

export interface FailoverConfig {
  readonly enabled: boolean;
  readonly dialPlanId: string | null;
  /** Fail over when no 1xx came within this many milliseconds. */
  readonly noProvisionalTimeoutMs: number;
  readonly triggerStatusCodes: ReadonlySet<number>;
}

export interface DialPlanConfig {
  readonly id: string;
  readonly companyId: string;
  readonly name: string;
  readonly flow: Flow;
}

export interface RegistrationBinding {
  readonly id: string;
  readonly trunkId: string;
  /** The Contact URI the PBX registered. */
  readonly contact: string;
  /** Where the REGISTER came from: calls are sent here (NAT). */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly userAgent: string | null;
  /** Epoch milliseconds of the last refresh: the newest binding is preferred. */
  readonly updatedAt: number;
}

export interface CarrierConfig {
  readonly id: string;
  readonly name: string;
  /** Canonical CIDR texts, as stored. */
  readonly sourceCidrs: readonly string[];
}

export type DidTarget = { readonly kind: 'trunk'; readonly trunkId: string } | { readonly kind: 'dialPlan'; readonly dialPlanId: string };

export interface CompanyConfig {
  readonly id: string;
  readonly timeZone: string;
}

export interface Snapshot {
  /** Increases with every swap; for logs and tests. */
  readonly version: number;
  readonly trunks: ReadonlyMap<string, TrunkConfig>;
  /** Keyed by the lower-cased SIP username. */
  readonly trunksByUsername: ReadonlyMap<string, TrunkConfig>;
  /** Keyed by E.164 number. */
  readonly dids: ReadonlyMap<string, DidTarget>;
  readonly dialPlans: ReadonlyMap<string, DialPlanConfig>;
  /** Bindings per trunk id, newest first; may include expired ones (the caller compares with its clock). */
  readonly registrations: ReadonlyMap<string, readonly RegistrationBinding[]>;
  readonly carriers: readonly CarrierConfig[];
  /** Answers whether a source address belongs to a configured carrier, and which. */
  readonly carrierOf: (address: string) => CarrierConfig | null;
  /** `sip:host[:port]`, or null when none is configured. */
  readonly outboundGateway: string | null;
  /** Canonical CIDRs a webhook may reach besides public addresses; empty: public only. */
  readonly webhookAllowedNetworks: readonly string[];
  /** The operator's maximum call length (seconds) for calls without a session timer; the default while none is set. */
  readonly maxCallLengthSeconds: number;
  readonly companies: ReadonlyMap<string, CompanyConfig>;
  /** Health per trunk id; a trunk without an entry is UNKNOWN. */
  readonly health: ReadonlyMap<string, TrunkHealthView>;
}

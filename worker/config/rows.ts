import type { ClientBase } from 'pg';
import { DEFAULT_MAX_CALL_LENGTH_SECONDS } from '../../domain/call-limits';
import { DigestAlgorithm } from '../../domain/digest';
import type { Flow } from '../../domain/flow/flow';
import type { ConfigTable } from '../../schema/config-change';
import type { TrunkDownReason, TrunkHealthState } from '../../domain/trunk-health';
import type { CarrierConfig, CompanyConfig, DialPlanConfig, DidTarget, RegistrationBinding, TrunkConfig, TrunkHealthView } from './snapshot';
import { epochMsSql } from '../../domain/registration';
import { isUuid } from '../../domain/uuid';

/*
 * The configuration tables as a worker reads them: the SQL, the row shapes `pg` returns, and how
 * each row becomes the frozen config object the snapshot holds.
 */

export interface CompanyRow { id: string; time_zone: string }
export interface CarrierRow { id: string; name: string; source_cidrs: string[] }
export interface GatewayRow { uri: string }
export interface WebhookNetworksRow { cidrs: string[] }
export interface CallLimitsRow { max_call_length_seconds: number }
export interface DialPlanRow { id: string; company_id: string; name: string; flow: Flow }
export interface DidRow { number: string; trunk_id: string | null; dial_plan_id: string | null }
export interface TrunkRow {
  id: string;
  company_id: string;
  name: string;
  sip_username: string;
  digest_realm: string;
  ha1_md5: string;
  ha1_sha256: string;
  /** Array literal text, e.g. `{MD5,SHA256}`: see `internAlgorithms`. */
  digest_algorithms: string;
  max_concurrent_calls: number;
  failover_enabled: boolean;
  failover_dial_plan_id: string | null;
  no_provisional_timeout_seconds: number;
  /** Array literal text, e.g. `{500,501,...}`: see `internStatusCodes`. */
  trigger_status_codes: string;
  health_check_enabled: boolean;
  health_check_interval_seconds: number;
  health_check_failures_to_down: number;
  health_check_successes_to_up: number;
}
export interface TrunkHealthRow {
  trunk_id: string;
  state: TrunkHealthState;
  reason: TrunkDownReason | null;
  registered: boolean;
  since: number;
}
export interface RegistrationRow {
  id: string;
  trunk_id: string;
  contact: string;
  source_address: string;
  source_port: number;
  expires_at: number;
  user_agent: string | null;
  updated_at: number;
}

/** Epoch milliseconds as float8: a number for `pg`, no Date parsing per row. */
const epochMs = (column: string): string => `${epochMsSql(column)} AS ${column}`;

export const SELECT = {
  company: `SELECT id, time_zone FROM company`,
  carrier: `SELECT id, name, source_cidrs FROM carrier ORDER BY created_at, id`,
  outbound_gateway: `SELECT uri FROM outbound_gateway ORDER BY updated_at DESC LIMIT 1`,
  dial_plan: `SELECT id, company_id, name, flow FROM dial_plan`,
  // The arrays as text: parsing 100 integers per trunk through pg's array parser was 3/4 of a full load.
  trunk: `SELECT id, company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, digest_algorithms::text AS digest_algorithms,
    max_concurrent_calls, failover_enabled, failover_dial_plan_id, no_provisional_timeout_seconds,
    trigger_status_codes::text AS trigger_status_codes, health_check_enabled, health_check_interval_seconds,
    health_check_failures_to_down, health_check_successes_to_up FROM trunk`,
  did: `SELECT number, trunk_id, dial_plan_id FROM did`,
  webhook_allowed_networks: `SELECT cidrs FROM webhook_allowed_networks ORDER BY updated_at DESC LIMIT 1`,
  call_limits: `SELECT max_call_length_seconds FROM call_limits ORDER BY updated_at DESC LIMIT 1`,
  registration: `SELECT id, trunk_id, contact, source_address, source_port, ${epochMs('expires_at')}, user_agent, ${epochMs('updated_at')}
    FROM registration`,
  trunk_health: `SELECT trunk_id, state, reason, registered, ${epochMs('since')} FROM trunk_health`,
} as const satisfies Record<ConfigTable, string>;

/** Tables re-read row by row: the named keys go in as one array, `= ANY($1)`. */
export const KEYED = {
  company: `${SELECT.company} WHERE id = ANY($1::uuid[])`,
  dial_plan: `${SELECT.dial_plan} WHERE id = ANY($1::uuid[])`,
  trunk: `${SELECT.trunk} WHERE id = ANY($1::uuid[])`,
  did: `${SELECT.did} WHERE number = ANY($1::text[])`,
  registration: `${SELECT.registration} WHERE id = ANY($1::uuid[])`,
  trunk_health: `${SELECT.trunk_health} WHERE trunk_id = ANY($1::uuid[])`,
} as const;

export type KeyedTable = keyof typeof KEYED;


export async function rows<R>(client: ClientBase, text: string, values?: unknown[]): Promise<R[]> {
  return (await client.query<R & Record<string, unknown>>(text, values)).rows;
}

/** The named rows of a keyed table; keys that cannot be a uuid name no row and are not sent. */
export async function keyedRows<R>(client: ClientBase, table: KeyedTable, keys: ReadonlySet<string>): Promise<R[]> {
  const values = table === 'did' ? [...keys] : [...keys].filter((key) => isUuid(key));
  return values.length === 0 ? [] : rows<R>(client, KEYED[table], [values]);
}

/** Newest refresh first, ties by id (the current-binding rule of `domain/registration.ts`), so a full load and an incremental one order alike. */
export { newestFirst } from '../../domain/registration';

export function toCompany(row: CompanyRow): CompanyConfig {
  return Object.freeze({ id: row.id, timeZone: row.time_zone });
}

export function toCarrier(row: CarrierRow): CarrierConfig {
  return Object.freeze({ id: row.id, name: row.name, sourceCidrs: Object.freeze([...row.source_cidrs]) });
}

/** The one row's networks, or none (public addresses only). */
export function toWebhookAllowedNetworks(rows: readonly WebhookNetworksRow[]): readonly string[] {
  return Object.freeze([...(rows[0]?.cidrs ?? [])]);
}

/** The one row's maximum call length, or the default while no operator has set one. */
export function toMaxCallLengthSeconds(rows: readonly CallLimitsRow[]): number {
  return rows[0]?.max_call_length_seconds ?? DEFAULT_MAX_CALL_LENGTH_SECONDS;
}

export function toDialPlan(row: DialPlanRow): DialPlanConfig {
  return Object.freeze({ id: row.id, companyId: row.company_id, name: row.name, flow: deepFreeze(row.flow) });
}

export function toDidTarget(row: DidRow): DidTarget | null {
  if (row.trunk_id !== null) return Object.freeze({ kind: 'trunk', trunkId: row.trunk_id });
  if (row.dial_plan_id !== null) return Object.freeze({ kind: 'dialPlan', dialPlanId: row.dial_plan_id });
  return null;
}

export function toBinding(row: RegistrationRow): RegistrationBinding {
  return Object.freeze({
    id: row.id,
    trunkId: row.trunk_id,
    contact: row.contact,
    sourceAddress: row.source_address,
    sourcePort: row.source_port,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
    updatedAt: row.updated_at,
  });
}

export function toTrunk(row: TrunkRow): TrunkConfig {
  return Object.freeze({
    id: row.id,
    companyId: row.company_id,
    name: row.name,
    sipUsername: row.sip_username,
    digestRealm: row.digest_realm,
    ha1: Object.freeze({ [DigestAlgorithm.MD5]: row.ha1_md5, [DigestAlgorithm.SHA256]: row.ha1_sha256 }),
    digestAlgorithms: internAlgorithms(row.digest_algorithms),
    maxConcurrentCalls: row.max_concurrent_calls,
    failover: Object.freeze({
      enabled: row.failover_enabled,
      dialPlanId: row.failover_dial_plan_id,
      noProvisionalTimeoutMs: row.no_provisional_timeout_seconds * 1000,
      triggerStatusCodes: internStatusCodes(row.trigger_status_codes),
    }),
    healthCheck: Object.freeze({
      enabled: row.health_check_enabled,
      intervalMs: row.health_check_interval_seconds * 1000,
      failuresToDown: row.health_check_failures_to_down,
      successesToUp: row.health_check_successes_to_up,
    }),
  });
}

export function toTrunkHealth(row: TrunkHealthRow): TrunkHealthView {
  return Object.freeze({ state: row.state, reason: row.reason, registered: row.registered, since: row.since });
}

/*
 * Most trunks carry the same few status-code sets (the default is all 100 5xx codes) and the
 * same algorithm lists: one shared, read-only instance per distinct value instead of one per
 * trunk, keyed by the array's text and parsed once. Shared across snapshots, which is safe
 * because nothing mutates them. The elements are integers and the two algorithm names, so
 * the array text holds no quoting.
 */
const MAX_INTERNED = 1024;
const statusCodeSets = new Map<string, ReadonlySet<number>>();
const algorithmLists = new Map<string, readonly DigestAlgorithm[]>();

function internStatusCodes(text: string): ReadonlySet<number> {
  let set = statusCodeSets.get(text);
  if (set === undefined) {
    if (statusCodeSets.size >= MAX_INTERNED) statusCodeSets.clear();
    set = new Set(arrayElements(text).map(Number));
    statusCodeSets.set(text, set);
  }
  return set;
}

const KNOWN_ALGORITHMS: ReadonlySet<string> = new Set(Object.values(DigestAlgorithm));

function internAlgorithms(text: string): readonly DigestAlgorithm[] {
  let list = algorithmLists.get(text);
  if (list === undefined) {
    if (algorithmLists.size >= MAX_INTERNED) algorithmLists.clear();
    list = Object.freeze(arrayElements(text).filter((name): name is DigestAlgorithm => KNOWN_ALGORITHMS.has(name)));
    algorithmLists.set(text, list);
  }
  return list;
}

/** The elements of a one-dimensional array literal without quoted elements: `{a,b}` -> [a, b]. */
function arrayElements(text: string): string[] {
  const inner = text.slice(1, -1);
  return inner === '' ? [] : inner.split(',');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

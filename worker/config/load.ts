import type { ClientBase } from 'pg';
import type { ConfigChange, ConfigTable } from '../../schema/config-change';
import { compileCarrierMatcher } from './carrier-match';
import {
  keyedRows,
  newestFirst,
  rows,
  SELECT,
  toBinding,
  toCarrier,
  toCompany,
  toDialPlan,
  toDidTarget,
  toMaxCallLengthSeconds,
  toTrunk,
  toTrunkHealth,
  toWebhookAllowedNetworks,
  type CallLimitsRow,
  type CarrierRow,
  type CompanyRow,
  type DialPlanRow,
  type DidRow,
  type GatewayRow,
  type KeyedTable,
  type RegistrationRow,
  type TrunkHealthRow,
  type TrunkRow,
  type WebhookNetworksRow,
} from './rows';
import type { DidTarget, RegistrationBinding, Snapshot, TrunkConfig } from './snapshot';

/*
 * Reads the configuration tables into a Snapshot with a bare `pg` client (workers carry no ORM).
 * A read that spans tables runs in one REPEATABLE READ transaction, so a snapshot never mixes
 * rows from before and after a commit (a trunk deleted with its numbers is gone from both).
 */

/** Reads every configuration table and builds a frozen snapshot. */
export async function loadSnapshot(client: ClientBase, version: number): Promise<Snapshot> {
  return readConsistently(client, true, async () => {
    // One after another: pg 8 deprecates overlapping queries on one client.
    const companies = await rows<CompanyRow>(client, SELECT.company);
    const carriers = await rows<CarrierRow>(client, SELECT.carrier);
    const gateway = await rows<GatewayRow>(client, SELECT.outbound_gateway);
    const webhookNetworks = await rows<WebhookNetworksRow>(client, SELECT.webhook_allowed_networks);
    const callLimits = await rows<CallLimitsRow>(client, SELECT.call_limits);
    const dialPlans = await rows<DialPlanRow>(client, SELECT.dial_plan);
    const trunks = await rows<TrunkRow>(client, SELECT.trunk);
    const dids = await rows<DidRow>(client, SELECT.did);
    const registrations = await rows<RegistrationRow>(client, SELECT.registration);
    const health = await rows<TrunkHealthRow>(client, SELECT.trunk_health);
    const trunkMap = new Map(trunks.map((row) => [row.id, toTrunk(row)] as const));
    const carrierList = Object.freeze(carriers.map(toCarrier));
    return assemble({
      version,
      trunks: trunkMap,
      trunksByUsername: byUsername(trunkMap.values()),
      dids: toDidMap(dids),
      dialPlans: new Map(dialPlans.map((row) => [row.id, toDialPlan(row)] as const)),
      registrations: groupBindings(registrations),
      carriers: carrierList,
      carrierOf: compileCarrierMatcher(carrierList),
      outboundGateway: gateway[0]?.uri ?? null,
      webhookAllowedNetworks: toWebhookAllowedNetworks(webhookNetworks),
      maxCallLengthSeconds: toMaxCallLengthSeconds(callLimits),
      companies: new Map(companies.map((row) => [row.id, toCompany(row)] as const)),
      health: new Map(health.map((row) => [row.trunk_id, toTrunkHealth(row)] as const)),
    });
  });
}

/**
 * Builds the next snapshot from `previous` by re-reading only the rows the changes name (one
 * query per table). Maps no change touches are shared with `previous` (copy-on-write); a touched
 * map is a new Map, never `previous`'s mutated. `*` (TRUNCATE) re-reads that whole table.
 * The operation in a change is only a hint: the row as it is now decides (gone = removed).
 * `carrier`, `outbound_gateway`, `webhook_allowed_networks` and `call_limits` are re-read whole on any change: each
 * is a handful of operator rows, and the carrier matcher is compiled over all carriers in their order anyway.
 */
export async function applyChanges(previous: Snapshot, changes: readonly ConfigChange[], client: ClientBase, version: number): Promise<Snapshot> {
  const touched = groupChanges(changes);
  return readConsistently(client, touched.size > 1, async () => {
    const next: Mutable<Snapshot> = { ...previous, version };
    const company = touched.get('company');
    if (company !== undefined) {
      next.companies = await refresh(client, 'company', company, previous.companies, (row: CompanyRow) => [row.id, toCompany(row)]);
    }
    if (touched.has('carrier')) {
      next.carriers = Object.freeze((await rows<CarrierRow>(client, SELECT.carrier)).map(toCarrier));
      next.carrierOf = compileCarrierMatcher(next.carriers);
    }
    if (touched.has('outbound_gateway')) {
      next.outboundGateway = (await rows<GatewayRow>(client, SELECT.outbound_gateway))[0]?.uri ?? null;
    }
    if (touched.has('webhook_allowed_networks')) {
      next.webhookAllowedNetworks = toWebhookAllowedNetworks(await rows<WebhookNetworksRow>(client, SELECT.webhook_allowed_networks));
    }
    if (touched.has('call_limits')) {
      next.maxCallLengthSeconds = toMaxCallLengthSeconds(await rows<CallLimitsRow>(client, SELECT.call_limits));
    }
    const dialPlan = touched.get('dial_plan');
    if (dialPlan !== undefined) {
      next.dialPlans = await refresh(client, 'dial_plan', dialPlan, previous.dialPlans, (row: DialPlanRow) => [row.id, toDialPlan(row)]);
    }
    const did = touched.get('did');
    if (did !== undefined) {
      next.dids = await refresh(client, 'did', did, previous.dids, (row: DidRow) => {
        const target = toDidTarget(row);
        return target === null ? null : [row.number, target];
      });
    }
    const trunk = touched.get('trunk');
    if (trunk !== undefined) {
      next.trunks = await refresh(client, 'trunk', trunk, previous.trunks, (row: TrunkRow) => [row.id, toTrunk(row)]);
      next.trunksByUsername = trunk === ALL ? byUsername(next.trunks.values()) : patchUsernames(previous, next.trunks, trunk);
    }
    const registration = touched.get('registration');
    if (registration !== undefined) {
      next.registrations =
        registration === ALL
          ? groupBindings(await rows<RegistrationRow>(client, SELECT.registration))
          : patchBindings(previous.registrations, registration, await keyedRows<RegistrationRow>(client, 'registration', registration));
    }
    const health = touched.get('trunk_health');
    if (health !== undefined) {
      next.health = await refresh(client, 'trunk_health', health, previous.health, (row: TrunkHealthRow) => [row.trunk_id, toTrunkHealth(row)]);
    }
    // What the database cascades, the snapshot drops at once: the cascade's own notifications may land in a later batch.
    const goneTrunks = trunk === undefined ? NONE : goneKeys(previous.trunks, next.trunks, trunk);
    const gonePlans = dialPlan === undefined ? NONE : goneKeys(previous.dialPlans, next.dialPlans, dialPlan);
    if (goneTrunks.size > 0) {
      next.registrations = withoutKeys(next.registrations, goneTrunks);
      next.health = withoutKeys(next.health, goneTrunks);
    }
    if (goneTrunks.size > 0 || gonePlans.size > 0) next.dids = withoutTargets(next.dids, goneTrunks, gonePlans);
    return assemble(next);
  });
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** Every row of the table (TRUNCATE). */
const ALL = '*';
type Touched = ReadonlySet<string> | typeof ALL;

function groupChanges(changes: readonly ConfigChange[]): Map<ConfigTable, Touched> {
  const touched = new Map<ConfigTable, Touched>();
  for (const change of changes) {
    const current = touched.get(change.table);
    if (current === ALL) continue;
    if (change.op === 'TRUNCATE' || change.id === ALL) {
      touched.set(change.table, ALL);
    } else if (current === undefined) {
      touched.set(change.table, new Set([change.id]));
    } else {
      (current as Set<string>).add(change.id);
    }
  }
  return touched;
}

/** A copy of `previous` with the named keys re-read (or the whole table for ALL). */
async function refresh<K, V, R>(
  client: ClientBase,
  table: KeyedTable,
  touched: Touched,
  previous: ReadonlyMap<K, V>,
  toEntry: (row: R) => readonly [K, V] | null,
): Promise<ReadonlyMap<K, V>> {
  if (touched === ALL) {
    const next = new Map<K, V>();
    for (const row of await rows<R>(client, SELECT[table])) {
      const entry = toEntry(row);
      if (entry !== null) next.set(entry[0], entry[1]);
    }
    return next;
  }
  const fresh = await keyedRows<R>(client, table, touched);
  const next = new Map(previous);
  for (const key of touched) next.delete(key as K);
  for (const row of fresh) {
    const entry = toEntry(row);
    if (entry !== null) next.set(entry[0], entry[1]);
  }
  return next;
}

/**
 * Usernames of changed trunks: the old name is dropped only while it still points at the same
 * trunk, so two trunks trading names, in one batch or two, end up right either way.
 */
function patchUsernames(previous: Snapshot, trunks: ReadonlyMap<string, TrunkConfig>, ids: ReadonlySet<string>): ReadonlyMap<string, TrunkConfig> {
  const next = new Map(previous.trunksByUsername);
  for (const id of ids) {
    const old = previous.trunks.get(id);
    if (old === undefined) continue;
    const key = old.sipUsername.toLowerCase();
    if (next.get(key)?.id === id) next.delete(key);
  }
  for (const id of ids) {
    const trunk = trunks.get(id);
    if (trunk !== undefined) next.set(trunk.sipUsername.toLowerCase(), trunk);
  }
  return next;
}

/** Re-sorts the bindings of every trunk that held or now holds one of the named registrations. */
function patchBindings(
  previous: ReadonlyMap<string, readonly RegistrationBinding[]>,
  ids: ReadonlySet<string>,
  fresh: readonly RegistrationRow[],
): ReadonlyMap<string, readonly RegistrationBinding[]> {
  const added = new Map<string, RegistrationBinding[]>();
  for (const row of fresh) {
    const list = added.get(row.trunk_id);
    if (list === undefined) added.set(row.trunk_id, [toBinding(row)]);
    else list.push(toBinding(row));
  }
  // Where each id was: a refresh is found in its own trunk's list; inserts, deletes and moves need a scan.
  const affected = new Set(added.keys());
  const unplaced = new Set(ids);
  for (const row of fresh) {
    if (previous.get(row.trunk_id)?.some((binding) => binding.id === row.id) === true) unplaced.delete(row.id);
  }
  if (unplaced.size > 0) {
    for (const [trunkId, list] of previous) {
      if (list.some((binding) => unplaced.has(binding.id))) affected.add(trunkId);
    }
  }
  const next = new Map(previous);
  for (const trunkId of affected) {
    const kept = (previous.get(trunkId) ?? []).filter((binding) => !ids.has(binding.id));
    const list = [...kept, ...(added.get(trunkId) ?? [])];
    if (list.length === 0) next.delete(trunkId);
    else next.set(trunkId, Object.freeze(list.sort(newestFirst)));
  }
  return next;
}

const NONE: ReadonlySet<string> = new Set();

/** Keys that were in `previous` and are not in `next`, among those touched. */
function goneKeys<V>(previous: ReadonlyMap<string, V>, next: ReadonlyMap<string, V>, touched: Touched): ReadonlySet<string> {
  const gone = new Set<string>();
  for (const key of touched === ALL ? previous.keys() : touched) {
    if (previous.has(key) && !next.has(key)) gone.add(key);
  }
  return gone;
}

function withoutKeys<V>(map: ReadonlyMap<string, V>, keys: ReadonlySet<string>): ReadonlyMap<string, V> {
  let next: Map<string, V> | null = null;
  for (const key of keys) {
    if (!map.has(key)) continue;
    next ??= new Map(map);
    next.delete(key);
  }
  return next ?? map;
}

/** Numbers whose trunk or dial plan is gone (the rows went with them: ON DELETE CASCADE). */
function withoutTargets(dids: ReadonlyMap<string, DidTarget>, trunks: ReadonlySet<string>, dialPlans: ReadonlySet<string>): ReadonlyMap<string, DidTarget> {
  let next: Map<string, DidTarget> | null = null;
  for (const [number, target] of dids) {
    if (target.kind === 'trunk' ? !trunks.has(target.trunkId) : !dialPlans.has(target.dialPlanId)) continue;
    next ??= new Map(dids);
    next.delete(number);
  }
  return next ?? dids;
}

async function readConsistently<T>(client: ClientBase, spansTables: boolean, work: () => Promise<T>): Promise<T> {
  if (!spansTables) return work();
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function assemble(parts: Snapshot): Snapshot {
  return Object.freeze({
    version: parts.version,
    trunks: parts.trunks,
    trunksByUsername: parts.trunksByUsername,
    dids: parts.dids,
    dialPlans: parts.dialPlans,
    registrations: parts.registrations,
    carriers: parts.carriers,
    carrierOf: parts.carrierOf,
    outboundGateway: parts.outboundGateway,
    webhookAllowedNetworks: parts.webhookAllowedNetworks,
    maxCallLengthSeconds: parts.maxCallLengthSeconds,
    companies: parts.companies,
    health: parts.health,
  });
}

function byUsername(trunks: Iterable<TrunkConfig>): Map<string, TrunkConfig> {
  const map = new Map<string, TrunkConfig>();
  for (const trunk of trunks) map.set(trunk.sipUsername.toLowerCase(), trunk);
  return map;
}

function toDidMap(didRows: readonly DidRow[]): Map<string, DidTarget> {
  const map = new Map<string, DidTarget>();
  for (const row of didRows) {
    const target = toDidTarget(row);
    if (target !== null) map.set(row.number, target);
  }
  return map;
}

function groupBindings(bindingRows: readonly RegistrationRow[]): Map<string, readonly RegistrationBinding[]> {
  const groups = new Map<string, RegistrationBinding[]>();
  for (const row of bindingRows) {
    const list = groups.get(row.trunk_id);
    if (list === undefined) groups.set(row.trunk_id, [toBinding(row)]);
    else list.push(toBinding(row));
  }
  const frozen = new Map<string, readonly RegistrationBinding[]>();
  for (const [trunkId, list] of groups) frozen.set(trunkId, Object.freeze(list.sort(newestFirst)));
  return frozen;
}

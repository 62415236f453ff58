/**
 * The payload of a `config_changed` notification: a nudge naming the row, never the row itself
 * (NOTIFY payloads are limited to 8000 bytes). Listeners re-read the table, which is the truth.
 */
export const CONFIG_CHANNEL = 'config_changed';

export type ConfigTable = 'company' | 'carrier' | 'outbound_gateway' | 'trunk' | 'did' | 'dial_plan' | 'registration' | 'webhook_allowed_networks' | 'trunk_health' | 'call_limits';

/** `TRUNCATE` carries id `*`: reload the whole table. */
export type ConfigOp = 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';

export interface ConfigChange {
  readonly table: ConfigTable;
  /** The row's key: a uuid, or the E.164 number for `did`. */
  readonly id: string;
  readonly op: ConfigOp;
}

/** The tables whose every write notifies, with the key column the payload names. */
export const NOTIFYING_TABLES: Readonly<Record<ConfigTable, string>> = {
  company: 'id',
  carrier: 'id',
  outbound_gateway: 'id',
  trunk: 'id',
  did: 'number',
  dial_plan: 'id',
  registration: 'id',
  webhook_allowed_networks: 'id',
  trunk_health: 'trunk_id',
  call_limits: 'id',
};

export function parseConfigChange(payload: string): ConfigChange | null {
  try {
    const value: unknown = JSON.parse(payload);
    if (typeof value !== 'object' || value === null) return null;
    const { table, id, op } = value as Record<string, unknown>;
    // Own keys only: `in` would also accept inherited names such as "constructor" or "toString".
    if (typeof table !== 'string' || !Object.hasOwn(NOTIFYING_TABLES, table)) return null;
    if (typeof id !== 'string' || id === '' || !['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'].includes(op as string)) return null;
    return { table: table as ConfigTable, id, op: op as ConfigOp };
  } catch {
    return null;
  }
}

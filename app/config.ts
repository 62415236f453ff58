import os from 'node:os';
import { isIP } from 'node:net';

/**
 * The typed configuration, parsed once at start from the environment and the command line.
 * Nothing else in the codebase reads `process.env`; tests build these objects directly.
 */
export type Role = 'api' | 'sip' | 'all';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly role: Role;
  /** Unset: an embedded PostgreSQL under `dataDir` is started and stopped with the process. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly sipHost: string;
  readonly sipPort: number;
  readonly sipPublicAddress: string;
  readonly sipRealm: string;
  readonly sipWorkers: number;
  /** Unset in development: one is generated on the first start, its hash stored and the key printed once. */
  readonly operatorApiKey: string | undefined;
  readonly logLevel: LogLevel;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ROLES: readonly Role[] = ['api', 'sip', 'all'];
const MAX_SIP_WORKERS = 64;

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name} must be a port number 0..65535, got "${raw}"`);
  }
  return value;
}

function host(env: Env, name: string, fallback: string): string {
  const value = nonEmpty(env, name) ?? fallback;
  if (value !== 'localhost' && isIP(value) === 0) {
    throw new ConfigError(`${name} must be an IP address, got "${value}"`);
  }
  return value;
}

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${name} must be an integer 1..${max}, got "${raw}"`);
  }
  return value;
}

function parseRole(argv: readonly string[]): Role {
  let role: string = 'all';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--role') {
      role = argv[i + 1] ?? '';
      i++;
    } else if (arg.startsWith('--role=')) {
      role = arg.slice('--role='.length);
    } else {
      throw new ConfigError(`unknown argument "${arg}" (accepted: --role api|sip|all)`);
    }
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new ConfigError(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
  }
  return role as Role;
}

export function parseConfig(env: Env, argv: readonly string[], cwd: string): Config {
  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const operatorApiKey = nonEmpty(env, 'OPERATOR_API_KEY');
  if (operatorApiKey !== undefined && operatorApiKey.length < 32) {
    throw new ConfigError('OPERATOR_API_KEY must be at least 32 characters');
  }
  const sipHost = host(env, 'SIP_HOST', '127.0.0.1');
  const realm = nonEmpty(env, 'SIP_REALM') ?? 'trunks.local';
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(realm)) {
    throw new ConfigError(`SIP_REALM must be a host name, got "${realm}"`);
  }
  // Kept without brackets, as the SIP parser keeps IPv6 hosts (RFC 5118); they are added where a URI is written.
  const sipPublicAddress = (nonEmpty(env, 'SIP_PUBLIC_ADDRESS') ?? sipHost).replace(/^\[(.*)\]$/, '$1');
  if (sipPublicAddress === '0.0.0.0' || sipPublicAddress === '::') {
    throw new ConfigError('SIP_PUBLIC_ADDRESS must be set when SIP_HOST is a wildcard address: Via and Record-Route must name a reachable address');
  }
  return Object.freeze({
    role: parseRole(argv),
    databaseUrl: nonEmpty(env, 'DATABASE_URL'),
    dataDir: nonEmpty(env, 'DATA_DIR') ?? `${cwd}/.data`,
    apiHost: host(env, 'API_HOST', '127.0.0.1'),
    apiPort: port(env, 'API_PORT', 4000),
    sipHost,
    sipPort: port(env, 'SIP_PORT', 5060),
    sipPublicAddress,
    sipRealm: realm,
    sipWorkers: positiveInt(env, 'SIP_WORKERS', Math.min(os.availableParallelism(), MAX_SIP_WORKERS), MAX_SIP_WORKERS),
    operatorApiKey,
    logLevel,
  });
}

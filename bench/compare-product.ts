import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { sleep } from './sip-process';

/**
 * For bench/compare.ts: the product as `npm start` runs it (`node dist/app/main.js`, both roles), in
 * a process group of its own so that the anchor harness can measure the whole tree, started fresh
 * for each run as run.sh starts Kamailio (both need the port), on the
 * harness's address (udp 127.0.0.1:5070), configured through its own GraphQL API for the harness's
 * call model: carrier from 127.0.0.0/8, DID +4930123456 on trunk `trunk1` (MD5 digest, so that
 * SIPp's `[authentication]` can answer the challenge), failover into a FORWARD to the harness's
 * failover UAS on :5090.
 */
const ROOT = path.resolve(__dirname, '..', '..');
export const SIP_PORT = 5070;
export const SIP_WORKERS = 2;
export const TRUNK_USER = 'trunk1';
export const DID = '+4930123456';
const FAILOVER_URI = 'sip:failover@127.0.0.1:5090';
/** The harness's no-1xx timer (Kamailio's FR_TIMER_MS default, 15 s). */
const NO_PROVISIONAL_TIMEOUT_S = 15;

/** The product's settings for the harness: its address, the workers, the database and the operator key. */
export function productEnvironment(databaseUrl: string, operatorKey: string, workers = SIP_WORKERS): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    SIP_HOST: '127.0.0.1',
    SIP_PORT: String(SIP_PORT),
    SIP_WORKERS: String(workers),
    OPERATOR_API_KEY: operatorKey,
  };
}

export class ComparedProduct {
  private constructor(
    readonly child: ChildProcess,
    readonly logFile: string,
    private readonly logFd: number,
    readonly apiUrl: string,
    readonly operatorKey: string,
    readonly sipPassword: string,
  ) {}

  /** Fresh secrets for one benchmark: the operator key and trunk1's SIP password. */
  static secrets(): { operatorKey: string; sipPassword: string } {
    return { operatorKey: `bench-${randomBytes(24).toString('hex')}`, sipPassword: randomBytes(18).toString('base64url') };
  }

  /** Starts the product on `databaseUrl` and waits until both roles listen. */
  static async start(databaseUrl: string, logFile: string, secrets: { operatorKey: string; sipPassword: string }, nodeOptions = '', workers = SIP_WORKERS): Promise<ComparedProduct> {
    const { operatorKey, sipPassword } = secrets;
    const logFd = openSync(logFile, 'w');
    const env: NodeJS.ProcessEnv = { ...process.env, ...productEnvironment(databaseUrl, operatorKey, workers) };
    // detached: a new session and process group whose id is the child's pid
    const child = spawn(process.execPath, [...nodeOptions.split(' ').filter((flag) => flag !== ''), path.join(ROOT, 'dist', 'app', 'main.js')], { cwd: ROOT, env, stdio: ['ignore', logFd, logFd], detached: true });
    const deadline = Date.now() + 60_000;
    let apiUrl: string | undefined;
    for (;;) {
      const log = await readFile(logFile, 'utf8');
      apiUrl = /"url":"(http:[^"]+)"/.exec(log)?.[1];
      if (apiUrl !== undefined && log.includes('"msg":"GraphQL API listening"') && log.includes('"msg":"SIP edge listening"')) break;
      if (child.exitCode !== null) throw new Error(`the product exited with ${child.exitCode}:\n${log.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`the product did not start in 60 s:\n${log.slice(-3000)}`);
      await sleep(200);
    }
    return new ComparedProduct(child, logFile, logFd, apiUrl, operatorKey, sipPassword);
  }

  get pgid(): number {
    return this.child.pid as number;
  }

  private async graphql<T>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(this.apiUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: T | null; errors?: unknown[] };
    if (body.errors !== undefined || body.data == null) throw new Error(`GraphQL operation failed: ${JSON.stringify(body.errors)}`);
    return body.data;
  }

  /** Carrier, company, failover dial plan and trunk1, through the API. */
  async configure(): Promise<void> {
    const operator = this.operatorKey;
    await this.graphql(operator, `mutation { createCarrier(input: { name: "Anchor carrier", sourceCidrs: ["127.0.0.0/8"] }) { id } }`);
    const company = await this.graphql<{ createCompany: { id: string } }>(operator, `mutation ($input: CreateCompanyInput!) { createCompany(input: $input) { id } }`, {
      input: { name: 'Anchor company', timeZone: 'Europe/Berlin' },
    });
    const companyId = company.createCompany.id;
    const flow = { entryStepId: 'failover', steps: [{ id: 'failover', app: 'FORWARD', forward: { target: FAILOVER_URI, ringTimeoutSeconds: 30 }, exits: [] }] };
    const plan = await this.graphql<{ createDialPlan: { id: string } }>(operator, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
      input: { companyId, name: 'Failover', internalNumber: '900', flow },
    });
    await this.graphql(operator, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: {
        companyId, name: TRUNK_USER, sipUsername: TRUNK_USER, sipPassword: this.sipPassword, inboundNumbers: [DID], maxConcurrentCalls: 10000, digestAlgorithms: ['MD5'],
        failover: { enabled: true, dialPlanId: plan.createDialPlan.id, noProvisionalTimeoutSeconds: NO_PROVISIONAL_TIMEOUT_S },
      },
    });
  }

  /** PostgreSQL backends serving the product's database (its pool), for the harness's `--aux-pids`. */
  static async backendPids(databaseUrl: string): Promise<number[]> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      return rows.map((row) => row.pid);
    } finally {
      await client.end();
    }
  }

  /** SIGTERM to the whole process group, SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      process.kill(-this.pgid, 'SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => process.kill(-this.pgid, 'SIGKILL'))]);
    }
    closeSync(this.logFd);
  }
}

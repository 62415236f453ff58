import { Writable } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../ormconfig';
import { buildApiSchema } from '../../api/schema';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../api/server';
import { createLogger } from '../../app/logger';
import { createTestDatabase, type TestDatabase } from './database';

export const OPERATOR_KEY = 'tfk_test-operator-key-0123456789abcdefghijklmnop';
export const TEST_REALM = 'trunks.test';

let schema: Promise<GraphQLSchema> | null = null;

export interface GraphqlError {
  message: string;
  extensions?: { code?: string; problems?: string[] };
}

export interface GraphqlResult<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors: GraphqlError[] | undefined;
  text: string;
}

/** An API server on a fresh database, with helpers to call it over real HTTP. */
export class TestApi {
  private constructor(
    /** Every response body and log line, for the tests that prove secrets never leave. */
    readonly transcript: string[],
    readonly database: TestDatabase,
    readonly dataSource: DataSource,
    private serverOptions: ApiServerOptions,
    public server: ApiServer,
  ) {}

  /** `webhookDelivery` starts the webhook dispatcher with the server, as the API role does. */
  static async start(options: Pick<ApiServerOptions, 'webhookDelivery'> = {}): Promise<TestApi> {
    schema ??= buildApiSchema();
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url, poolSize: 5 });
    await dataSource.initialize();
    const transcript: string[] = [];
    const logSink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        transcript.push(chunk.toString('utf8'));
        done();
      },
    });
    const serverOptions: ApiServerOptions = {
      dataSource,
      schema: await schema,
      logger: createLogger('debug', logSink),
      host: '127.0.0.1',
      port: 0,
      sipRealm: TEST_REALM,
      operatorApiKey: OPERATOR_KEY,
      ...options,
    };
    return new TestApi(transcript, database, dataSource, serverOptions, await startApiServer(serverOptions));
  }

  /** Stops the API server, as an API node going down; `startServer` brings a new one up on the same database. */
  async stopServer(): Promise<void> {
    await this.server.stop();
  }

  async startServer(): Promise<void> {
    this.server = await startApiServer(this.serverOptions);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.dataSource.destroy();
    await this.database.drop();
  }

  async request<T = Record<string, unknown>>(key: string | null, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlResult<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const response = await fetch(this.server.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await response.text();
    this.transcript.push(text);
    const body = JSON.parse(text) as { data?: T | null; errors?: GraphqlError[] };
    return { status: response.status, data: body.data ?? null, errors: body.errors, text };
  }

  /** Runs an operation that must succeed and returns its data. */
  async ok<T = Record<string, unknown>>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await this.request<T>(key, query, variables);
    if (result.errors !== undefined || result.data === null) {
      throw new Error(`operation failed: ${JSON.stringify(result.errors)}`);
    }
    return result.data;
  }

  /** Runs an operation that must fail, and returns the first error's code. */
  async errorCode(key: string | null, query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
    const result = await this.request(key, query, variables);
    if (result.errors === undefined || result.errors.length === 0) {
      throw new Error(`expected an error, got ${result.text}`);
    }
    return result.errors[0].extensions?.code;
  }

  /** A company with a company-scoped key. */
  async company(name: string, timeZone = 'Europe/Berlin'): Promise<{ id: string; key: string }> {
    const created = await this.ok<{ createCompany: { id: string } }>(
      OPERATOR_KEY,
      `mutation ($input: CreateCompanyInput!) { createCompany(input: $input) { id } }`,
      { input: { name, timeZone } },
    );
    const id = created.createCompany.id;
    const key = await this.ok<{ createApiKey: { secret: string } }>(
      OPERATOR_KEY,
      `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`,
      { input: { companyId: id, name: `${name} panel` } },
    );
    return { id, key: key.createApiKey.secret };
  }
}

/** A FORWARD-then-HANGUP flow, the smallest useful failover plan. */
export function forwardFlow(target = '+442079460000'): Record<string, unknown> {
  return {
    entryStepId: 'mobile',
    steps: [
      { id: 'mobile', app: 'FORWARD', forward: { target, ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
      { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
    ],
  };
}

export const TRUNK_FIELDS = `id companyId name sipUsername inboundNumbers maxConcurrentCalls digestAlgorithms
  failover { enabled dialPlan { id name } noProvisionalTimeoutSeconds triggerStatusCodes }
  healthCheck { enabled intervalSeconds failuresToDown successesToUp } health { state reason since lastProbeAt lastProbeRttMs }
  registration { contact sourceAddress expiresAt userAgent } activeCalls createdAt updatedAt`;

export const DIAL_PLAN_FIELDS = `id companyId name internalNumber externalNumber
  flow { entryStepId steps { id app forward { target ringTimeoutSeconds callerId } hangup { status } exits { on stepId } } }`;

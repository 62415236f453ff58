import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { GraphQLSchema } from 'graphql';
import type { DataSource } from 'typeorm';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { ApiKeyService } from './auth/api-key.service';
import { DATABASE_CONNECT_TIMEOUT_MS } from '../app/connect-timeout';
import { isDatabaseUnreachable } from '../app/database-errors';
import { CallLimitsService } from './call-limits/call-limits.service';
import { CallService } from './call/call.service';
import { CarrierService } from './carrier/carrier.service';
import { CompanyService } from './company/company.service';
import type { ApiContext, Services } from './context';
import { DialPlanService } from './dial-plan/dial-plan.service';
import { ApiError, ErrorCode, serviceUnavailable } from './errors';
import { createErrorFormatter } from './format-error';
import { findRequestExcess, queryTooComplex } from './query-limits';
import { SimulateService } from './simulate/simulate.service';
import { FeedService } from './subscriptions/feed.service';
import { NotificationHub } from './subscriptions/notification-hub';
import { attachSubscriptionServer, type SubscriptionLimits } from './subscriptions/ws-server';
import { TrunkService } from './trunk/trunk.service';
import { TrunkEventService } from './trunk-event/trunk-event.service';
import { WebhookService } from './webhook/webhook.service';
import { startWebhookDispatcher, type WebhookDispatcherOptions } from './webhook-endpoint/webhook-dispatcher';
import { WebhookEndpointService } from './webhook-endpoint/webhook-endpoint.service';

/** Larger bodies are refused before parsing: no configuration document comes near this. */
const MAX_BODY_BYTES = 1024 * 1024;
export const GRAPHQL_PATH = '/graphql';

export interface ApiServerOptions {
  readonly dataSource: DataSource;
  readonly schema: GraphQLSchema;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  readonly sipRealm: string;
  readonly operatorApiKey: string | undefined;
  /** Posts queued trunk events to webhook endpoints from this node; unset: this node delivers none. */
  readonly webhookDelivery?: WebhookDispatcherOptions;
  /** The subscription server's limits; SUBSCRIPTION_LIMITS when left out. */
  readonly subscriptionLimits?: SubscriptionLimits;
}

export interface ApiServer {
  readonly url: string;
  readonly services: Services;
  /** The node's LISTEN connection feeding the subscriptions. */
  readonly hub: NotificationHub;
  /** Subscription sockets past `connection_init`. */
  subscriptionConnections(): number;
  stop(): Promise<void>;
}

export function createServices(dataSource: DataSource, logger: Logger, sipRealm: string, operatorApiKey: string | undefined, hub: NotificationHub): Services {
  const trunks = new TrunkService(dataSource, sipRealm);
  const trunkEvents = new TrunkEventService(dataSource);
  return {
    apiKeys: new ApiKeyService(dataSource, logger, operatorApiKey),
    callLimits: new CallLimitsService(dataSource),
    calls: new CallService(dataSource),
    carriers: new CarrierService(dataSource),
    companies: new CompanyService(dataSource),
    dialPlans: new DialPlanService(dataSource),
    feeds: new FeedService(hub, trunkEvents, trunks, logger),
    simulations: new SimulateService(dataSource),
    trunks,
    trunkEvents,
    webhooks: new WebhookService(dataSource),
    webhookEndpoints: new WebhookEndpointService(dataSource),
  };
}

/** The LISTEN connection's client: on the DataSource's database, outside its pool (it is held for good). */
function listenClientFactory(dataSource: DataSource): () => Promise<Client> {
  const url = dataSource.options.type === 'postgres' ? dataSource.options.url : undefined;
  if (url === undefined) throw new Error('the API needs a DataSource configured with a url');
  return async () => {
    const client = new Client({ connectionString: url, application_name: 'trunk-failover-api-listen', keepAlive: true, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
    try {
      await client.connect();
    } catch (error) {
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  };
}

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Stop buffering but keep reading, so the 413 reaches a client still sending.
        request.off('data', onData);
        request.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function unauthenticated(message: string): ApiError {
  const error = new ApiError(ErrorCode.UNAUTHENTICATED, message);
  Object.assign(error.extensions, { http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) } });
  return error;
}

/** The GraphQL API on a plain node:http server: `/graphql`, and `/healthz` for load balancers. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { dataSource, logger } = options;
  const hub = new NotificationHub({ connect: listenClientFactory(dataSource), logger });
  const services = createServices(dataSource, logger, options.sipRealm, options.operatorApiKey, hub);
  const httpServer: Server = createServer();
  const apollo = new ApolloServer<ApiContext>({
    schema: options.schema,
    formatError: createErrorFormatter(logger),
    includeStacktraceInErrorResponses: false,
    // The process stops its roles in order on SIGINT/SIGTERM (app/main.ts); Apollo must not re-raise the signal.
    stopOnTerminationSignals: false,
    // A request naming only a stored query's hash carries new variables the query limits never
    // saw (a page size of 200 instead of 1): automatic persisted queries are off.
    persistedQueries: false,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
  });
  await apollo.start();
  let refusedQueries = 0;

  const handleGraphql = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const text = request.method === 'POST' ? await readBody(request) : '';
    let body: unknown = text;
    if (text !== '' && (headers.get('content-type') ?? '').includes('application/json')) {
      try {
        body = JSON.parse(text);
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'malformed JSON body', extensions: { code: 'BAD_REQUEST' } }] }));
        return;
      }
    }
    const url = new URL(request.url ?? '/', 'http://api');
    // Before Apollo parses, validates or even authenticates: graphql-js validation is quadratic in
    // repeated fields, and aliases through fragments multiply a small query's answer.
    const excess = findRequestExcess(options.schema, request.method ?? 'GET', url.search, body);
    if (excess !== null) {
      refusedQueries++;
      logger.warn({ ...excess, refusedTotal: refusedQueries }, 'GraphQL request refused as too complex');
      response.writeHead(400, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ errors: [queryTooComplex(excess).toJSON()] }));
      return;
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context: async () => {
        const authorization = headers.get('authorization') ?? '';
        const match = /^Bearer\s+(\S+)$/i.exec(authorization);
        if (match === null) throw unauthenticated('send an API key as "Authorization: Bearer <key>"');
        const actor = await services.apiKeys.authenticate(match[1]).catch((error: unknown) => {
          // A company key is looked up in the database, an operator key is not: an outage must
          // answer both alike, so the lookup's failure is the same 503 the resolvers give.
          if (!isDatabaseUnreachable(error)) throw error;
          logger.warn({ err: error }, 'database unreachable: API key not checked, answered SERVICE_UNAVAILABLE');
          throw serviceUnavailable();
        });
        if (actor === null) throw unauthenticated('unknown or revoked API key');
        return { actor, services, logger };
      },
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    response.writeHead(result.status ?? 200, responseHeaders);
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };

  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    const work =
      path === GRAPHQL_PATH
        ? handleGraphql(request, response)
        : path === '/healthz'
          ? dataSource.query('SELECT 1').then(() => void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'))
          : Promise.resolve(void response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'));
    work.catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof BodyTooLarge) {
        response.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('request body too large\n');
        return;
      }
      logger.error({ err: error, path }, 'HTTP request failed');
      response.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable\n');
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const dispatcher = options.webhookDelivery === undefined ? null : startWebhookDispatcher(dataSource, logger, options.webhookDelivery);
  const subscriptions = attachSubscriptionServer({ httpServer, path: GRAPHQL_PATH, schema: options.schema, services, hub, logger, limits: options.subscriptionLimits });
  hub.start();
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${GRAPHQL_PATH}`,
    services,
    hub,
    subscriptionConnections: () => subscriptions.connectionCount(),
    stop: async () => {
      // Sockets first: an upgraded socket is no longer the HTTP server's to drain.
      await subscriptions.close();
      await hub.stop();
      await dispatcher?.stop();
      await apollo.stop();
    },
  };
}

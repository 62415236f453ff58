import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, getOperationAST, parse, validate, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { isDatabaseUnreachable } from '../../app/database-errors';
import type { Actor } from '../auth/actor';
import type { ApiContext, Services } from '../context';
import { ApiError, ErrorCode } from '../errors';
import { createErrorFormatter } from '../format-error';
import { findQueryExcess, queryTooComplex } from '../query-limits';
import { EVERY_KEY, type NotificationHub } from './notification-hub';

/** What one client may hold open; each refusal names the limit it hit. */
export interface SubscriptionLimits {
  /** A larger WebSocket message closes the socket (1009): no subscription document comes near it. */
  readonly maxPayloadBytes: number;
  readonly subscriptionsPerConnection: number;
  /** Open sockets authenticated with one API key, on this API node. */
  readonly connectionsPerKey: number;
  /** A socket that has not sent `connection_init` by then is closed (4408). */
  readonly connectionInitTimeoutMs: number;
}

export const SUBSCRIPTION_LIMITS: SubscriptionLimits = Object.freeze({
  maxPayloadBytes: 64 * 1024,
  subscriptionsPerConnection: 20,
  connectionsPerKey: 50,
  connectionInitTimeoutMs: 3_000,
});

/** Standard WebSocket close codes (RFC 6455 section 7.4.1, IANA registry) used besides graphql-ws's own. */
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly services: Services;
  readonly hub: NotificationHub;
  readonly logger: Logger;
  readonly limits?: SubscriptionLimits;
}

export interface SubscriptionServer {
  /** Sockets past `connection_init`, for tests and metrics. */
  connectionCount(): number;
  close(): Promise<void>;
}

interface Connection {
  readonly actor: Actor;
  /** The stored key's id; null for the operator key from the environment, which cannot be revoked. */
  readonly keyId: string | null;
}

/** A request error as Apollo would code it, so clients see the same codes as over HTTP. */
function requestError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/**
 * GraphQL subscriptions over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the
 * API's HTTP server, at the GraphQL path only. The API key is sent in `connection_init` as
 * `{"authorization": "Bearer <key>"}` and checked there: unknown or revoked, the socket closes
 * 4403. When the key is revoked later (or its company deleted) every socket it opened closes
 * 4403, on every API node, through the `api_key_revoked` notification. Only subscriptions are
 * served here; queries and mutations go over HTTP.
 */
export function attachSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { httpServer, schema, services, hub, logger } = options;
  const limits = options.limits ?? SUBSCRIPTION_LIMITS;
  const format = createErrorFormatter(logger);
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  const connections = new Map<WebSocket, Connection>();
  const byKey = new Map<string, Set<WebSocket>>();
  /** Revocations seen while a key is being checked; `EVERY_KEY` also after a reconnect of the hub. */
  const checking = new Set<Set<string>>();
  const keyOf = (connection: Connection): string => connection.keyId ?? 'environment operator key';

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      wss.emit('connection', ws, request);
      // ws closes a socket itself on a protocol error (1009 for a message over maxPayload) and then
      // emits it; graphql-ws would print it to the console as an internal error.
      ws.removeAllListeners('error');
      ws.on('error', (error) => logger.info({ err: error }, 'subscription socket closed on a protocol error'));
    });
  };
  httpServer.on('upgrade', onUpgrade);

  const forget = (socket: WebSocket): void => {
    const connection = connections.get(socket);
    if (connection === undefined) return;
    connections.delete(socket);
    const sockets = byKey.get(keyOf(connection));
    sockets?.delete(socket);
    if (sockets?.size === 0) byKey.delete(keyOf(connection));
  };

  const closeKey = (keyId: string): void => {
    for (const set of checking) set.add(keyId);
    for (const [socket, connection] of connections) {
      if (connection.keyId !== null && (keyId === EVERY_KEY || connection.keyId === keyId)) {
        forget(socket);
        socket.close(CloseCode.Forbidden, 'Forbidden');
      }
    }
  };

  /** After the hub reconnects a revocation may have been missed: every stored key in use is checked again. */
  const recheckKeys = async (): Promise<void> => {
    for (const set of checking) set.add(EVERY_KEY);
    const ids = [...new Set([...connections.values()].flatMap((connection) => (connection.keyId === null ? [] : [connection.keyId])))];
    const valid = await services.apiKeys.validKeyIds(ids);
    for (const id of ids) if (!valid.has(id)) closeKey(id);
  };

  const stopWatching = [
    hub.onApiKeyRevoked(closeKey),
    hub.onResync(() => {
      recheckKeys().catch((error: unknown) => logger.warn({ err: error }, 'subscription keys not checked again after reconnecting'));
    }),
  ];

  /** Authenticates once more when a revocation or a reconnect came while the key was checked. */
  const authenticate = async (secret: string): Promise<Actor | null> => {
    for (let attempt = 0; ; attempt++) {
      const seen = new Set<string>();
      checking.add(seen);
      let actor: Actor | null;
      try {
        actor = await services.apiKeys.authenticate(secret);
      } finally {
        checking.delete(seen);
      }
      if (actor === null || actor.keyId === null) return actor;
      if (seen.has(actor.keyId)) return null;
      if (!seen.has(EVERY_KEY) || attempt > 0) return actor;
    }
  };

  const onConnect = async (socket: WebSocket, params: Readonly<Record<string, unknown>> | undefined): Promise<boolean> => {
    const authorization = params?.authorization;
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (match === null) return false;
    let actor: Actor | null;
    try {
      actor = await authenticate(match[1]);
    } catch (error) {
      if (!isDatabaseUnreachable(error)) throw error;
      logger.warn({ err: error }, 'database unreachable: subscription key not checked, socket closed to be retried');
      socket.close(TRY_AGAIN_LATER, 'Try again later');
      return false;
    }
    if (actor === null || socket.readyState !== socket.OPEN) return false;
    const connection: Connection = { actor, keyId: actor.keyId };
    const sockets = byKey.get(keyOf(connection)) ?? new Set<WebSocket>();
    if (sockets.size >= limits.connectionsPerKey) {
      logger.warn({ apiKeyId: actor.keyId, limit: limits.connectionsPerKey }, 'subscription socket refused: too many for this API key');
      socket.close(POLICY_VIOLATION, `at most ${limits.connectionsPerKey} connections per API key`);
      return false;
    }
    sockets.add(socket);
    byKey.set(keyOf(connection), sockets);
    connections.set(socket, connection);
    return true;
  };

  const onSubscribe = (socket: WebSocket, open: number, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] => {
    const connection = connections.get(socket);
    if (connection === undefined) return [new ApiError(ErrorCode.FORBIDDEN, 'the API key of this connection is no longer valid')];
    // `open` counts this operation too.
    if (open > limits.subscriptionsPerConnection) {
      return [new ApiError(ErrorCode.FORBIDDEN, `at most ${limits.subscriptionsPerConnection} subscriptions per connection`, { limit: limits.subscriptionsPerConnection })];
    }
    const variables = payload.variables ?? {};
    const excess = findQueryExcess(schema, payload.query, variables);
    if (excess !== null) {
      logger.warn({ ...excess }, 'GraphQL subscription refused as too complex');
      return [queryTooComplex(excess)];
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query, { noLocation: true });
    } catch (error) {
      return [requestError(error instanceof Error ? error.message : 'unparsable document', 'GRAPHQL_PARSE_FAILED')];
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) return invalid.map((error) => requestError(error.message, 'GRAPHQL_VALIDATION_FAILED'));
    const operation = getOperationAST(document, payload.operationName);
    if (operation == null) return [requestError('name the operation to run', 'BAD_REQUEST')];
    if (operation.operation !== 'subscription') return [requestError('only subscriptions are served over WebSocket: send queries and mutations over HTTP', 'BAD_REQUEST')];
    const contextValue: ApiContext = { actor: connection.actor, services, logger };
    return { schema, document, variableValues: variables, operationName: payload.operationName, contextValue };
  };

  const server = useServer(
    {
      // Close reasons never carry an internal error's message.
      isProd: true,
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      onConnect: (ctx) => onConnect(ctx.extra.socket, ctx.connectionParams),
      onSubscribe: (ctx, _id, payload) => onSubscribe(ctx.extra.socket, Object.keys(ctx.subscriptions).length, payload),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors === undefined ? undefined : { ...result, errors: result.errors.map((error) => format(error.toJSON(), error)) },
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => format(error.toJSON(), error)),
      onClose: (ctx) => forget(ctx.extra.socket),
    },
    wss,
  );

  return {
    connectionCount: () => connections.size,
    close: async () => {
      httpServer.off('upgrade', onUpgrade);
      for (const unsubscribe of stopWatching) unsubscribe();
      await server.dispose();
    },
  };
}

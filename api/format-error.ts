import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import type { Logger } from 'pino';
import { MAX_QUOTED_CHARS } from '../domain/quote-input';
import { isDatabaseUnreachable } from '../app/database-errors';
import { ApiError, ErrorCode, RETRY_AFTER_SECONDS } from './errors';

/** Codes Apollo itself produces for malformed requests; they carry no internals. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** "failover.noProvisionalTimeoutSeconds: must not be greater than 60", never the value given. */
function describe(errors: readonly ValidationError[], path: string): string[] {
  return errors.flatMap((error) => {
    const at = path === '' ? error.property : `${path}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => `${at}: ${message}`);
    return [...own, ...describe(error.children ?? [], at)];
  });
}

/**
 * A quoted value longer than MAX_QUOTED_CHARS in one of graphql-js's messages ("Variable "$input"
 * got invalid value "..." at ..."), which quote values as JSON, so quotes pair up left to right.
 */
const LONG_QUOTED = new RegExp(`"((?:[^"\\\\]|\\\\.){${MAX_QUOTED_CHARS}})(?:[^"\\\\]|\\\\.)+"`, 'g');

/** Cuts every long quoted value in a message to MAX_QUOTED_CHARS, so no answer echoes a megabyte back. */
export function boundMessage(message: string): string {
  return message.replace(LONG_QUOTED, (_quoted, head: string) => `"${head}…"`);
}

/**
 * Shapes every error a client sees: our ApiErrors and Apollo's request errors as they are,
 * input validation as BAD_USER_INPUT with one problem per rule (the rejected values, which may
 * be passwords, are dropped), and anything else as a bare INTERNAL_SERVER_ERROR, logged here.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof ArgumentValidationError) {
      const problems = describe(original.extensions.validationErrors as ValidationError[], '');
      return { message: problems.join('; '), path: formatted.path, extensions: { code: ErrorCode.BAD_USER_INPUT, problems } };
    }
    const code = formatted.extensions?.code;
    const ours = original instanceof ApiError;
    const apollos = original instanceof GraphQLError && typeof code === 'string' && REQUEST_CODES.has(code);
    if (ours || apollos) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      // Our messages quote input through quoteInput already; graphql-js quotes rejected variables in full.
      return { ...formatted, message: ours ? formatted.message : boundMessage(formatted.message), extensions };
    }
    if (isDatabaseUnreachable(original)) {
      // Resolvers and authentication answer this themselves, with HTTP 503; this is the net under them.
      logger.warn({ err: original, path: formatted.path }, 'database unreachable in a GraphQL operation');
      return { message: 'the service is temporarily unavailable; retry later', path: formatted.path, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: RETRY_AFTER_SECONDS } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

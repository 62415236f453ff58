import type { MiddlewareFn } from 'type-graphql';
import { QueryFailedError } from 'typeorm';
import type { ApiContext } from './context';
import { serviceUnavailable } from './errors';

/** Socket errors of a database that cannot be reached (node:net). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs of a server that will not serve us (PostgreSQL appendix A): class 08 connection
 * exceptions, 53300 too_many_connections, 57P01..57P03 admin/crash shutdown and cannot_connect_now.
 */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);

/** Errors pg and pg-pool raise themselves when a connection is lost, closed or never made. */
const CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /is not queryable$/,
  /^timeout exceeded when trying to connect$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** Causes are followed this deep; a cause chain has no business being longer. */
const MAX_CAUSE_DEPTH = 4;

/**
 * True when `error` says the database cannot be reached (refused, lost, shut down, not accepting
 * connections, pool timeout), as opposed to a query it refused. A FATAL severity is a failure to
 * open or keep a session, never a statement's own fault.
 */
export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return false;
  const fields = (error instanceof QueryFailedError ? error.driverError : error) as { code?: unknown; severity?: unknown; message?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : '';
  if (SOCKET_ERRORS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (fields.severity === 'FATAL' || fields.severity === 'PANIC') return true;
  const message = typeof fields.message === 'string' ? fields.message : error.message;
  if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return true;
  if (error instanceof AggregateError && error.errors.some((item: unknown) => isDatabaseUnreachable(item, depth + 1))) return true;
  return isDatabaseUnreachable(error.cause, depth + 1);
}

/**
 * Wraps each root resolver: a database that cannot be reached becomes SERVICE_UNAVAILABLE
 * (HTTP 503, Retry-After), the answer a company key already gets from authentication, so every
 * key sees the same outage. Applied per resolver class, not globally, so plain object fields stay
 * synchronous.
 */
export const DatabaseAvailability: MiddlewareFn<ApiContext> = async ({ context, info }, next) => {
  try {
    return await next();
  } catch (error) {
    if (!isDatabaseUnreachable(error)) throw error;
    context.logger.warn({ err: error, operation: info.fieldName }, 'database unreachable: answered SERVICE_UNAVAILABLE');
    throw serviceUnavailable();
  }
};

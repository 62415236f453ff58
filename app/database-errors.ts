/**
 * What a PostgreSQL error means for the code that got it, in one place for both roles (the API
 * over TypeORM, the SIP workers over pg): the database cannot be reached (wait and retry), the
 * transaction collided with another (run it again), or a row was refused for its content (drop
 * that row). Codes are SQLSTATEs (PostgreSQL appendix A) or node:net socket codes. TypeORM wraps
 * pg's error as `driverError`; both shapes are read.
 */

/** Socket errors of a database that cannot be reached (node:net). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * SQLSTATEs of a server that will not serve us: class 08 connection exceptions (matched by
 * prefix), 53300 too_many_connections, 57P01..57P03 admin/crash shutdown and cannot_connect_now.
 */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);

/** Errors pg and pg-pool raise themselves when a connection is lost, closed or never made. */
const CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /is not queryable$/,
  /^timeout exceeded when trying to connect$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** 40P01 deadlock_detected, 40001 serialization_failure: nothing but timing was wrong. */
const COLLISION_SQLSTATES = new Set(['40P01', '40001']);

/** Causes are followed this deep; a cause chain has no business being longer. */
const MAX_CAUSE_DEPTH = 4;

interface ErrorFields {
  readonly code?: unknown;
  readonly severity?: unknown;
  readonly message?: unknown;
}

function fieldsOf(error: object): ErrorFields {
  const driverError = (error as { driverError?: unknown }).driverError;
  return (typeof driverError === 'object' && driverError !== null ? driverError : error) as ErrorFields;
}

/** The SQLSTATE (or socket code) of an error from pg or TypeORM, or '' when it has none. */
export function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { code } = fieldsOf(error);
  return typeof code === 'string' ? code : '';
}

/**
 * True when `error` says the database cannot be reached (refused, lost, shut down, not accepting
 * connections, pool or connect timeout), as opposed to a statement it refused. A FATAL severity is
 * a failure to open or keep a session, never a statement's own fault.
 */
export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return false;
  const fields = fieldsOf(error);
  const code = typeof fields.code === 'string' ? fields.code : '';
  if (SOCKET_ERRORS.has(code) || UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (fields.severity === 'FATAL' || fields.severity === 'PANIC') return true;
  const message = typeof fields.message === 'string' ? fields.message : error.message;
  if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return true;
  if (error instanceof AggregateError && error.errors.some((item: unknown) => isDatabaseUnreachable(item, depth + 1))) return true;
  return isDatabaseUnreachable(error.cause, depth + 1);
}

/** True when PostgreSQL aborted the transaction only because of a concurrent one: running it again is safe. */
export function isTransactionCollision(error: unknown): boolean {
  return COLLISION_SQLSTATES.has(errorCode(error));
}

/**
 * True when the server is short of something for a while (class 53 insufficient resources: disk
 * full, out of memory; 57014 a cancelled statement): the same write may succeed later.
 */
export function isDatabaseStrained(error: unknown): boolean {
  const code = errorCode(error);
  return code.startsWith('53') || code === '57014';
}

/**
 * True when a row was refused for what it holds: class 22 data exception (an invalid byte, a
 * value out of range), class 23 integrity constraint, 54000 program limit exceeded (a value too
 * large to index). Writing the same row again cannot succeed.
 */
export function isContentError(error: unknown): boolean {
  const code = errorCode(error);
  return code.length === 5 && (code.startsWith('22') || code.startsWith('23') || code === '54000');
}

/**
 * True when the same work may succeed if tried again later: the database cannot be reached, is
 * short of resources, or aborted the transaction for a collision. Anything else is the work's own
 * fault (a refused row, a bug) and retrying it cannot help.
 */
export function isWorthRetrying(error: unknown): boolean {
  return isDatabaseUnreachable(error) || isDatabaseStrained(error) || isTransactionCollision(error);
}

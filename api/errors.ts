import { GraphQLError } from 'graphql';
import { QueryFailedError } from 'typeorm';
import { quoteInput } from '../domain/quote-input';

/** The closed set of codes a client can see in `extensions.code`. */
export enum ErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  FORBIDDEN = 'FORBIDDEN',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  CONFLICT = 'CONFLICT',
  /** Over a limit of api/query-limits.ts; `extensions` carry `measure`, `figure` and `limit`. */
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
}

export class ApiError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extra, code } });
  }
}

/** Unknown ids and other companies' ids answer alike, so existence does not leak across tenants. */
export function notFound(kind: string, id: string): ApiError {
  return new ApiError(ErrorCode.NOT_FOUND, `${kind} ${quoteInput(id)} not found`);
}

/** How long a client is asked to wait before retrying while the database cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * The database cannot be reached: HTTP 503 with `Retry-After` (what a load balancer and an HTTP
 * client understand) and the same hint in `extensions.retryAfterSeconds` (what a GraphQL client
 * reads). Operator and company keys get this same answer.
 */
export function serviceUnavailable(): ApiError {
  const error = new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'the service is temporarily unavailable (its database cannot be reached); retry later', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
  Object.assign(error.extensions, { http: { status: 503, headers: new Map([['retry-after', String(RETRY_AFTER_SECONDS)]]) } });
  return error;
}

export function forbidden(message: string): ApiError {
  return new ApiError(ErrorCode.FORBIDDEN, message);
}

export function badInput(problems: readonly string[]): ApiError {
  return new ApiError(ErrorCode.BAD_USER_INPUT, problems.join('; '), { problems: [...problems] });
}

export function conflict(message: string): ApiError {
  return new ApiError(ErrorCode.CONFLICT, message);
}

/** PostgreSQL error details of a failed query, when it is one. */
function pgError(error: unknown): { code: string; constraint?: string } | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: unknown; constraint?: unknown };
  if (typeof driverError.code !== 'string') return undefined;
  return { code: driverError.code, constraint: typeof driverError.constraint === 'string' ? driverError.constraint : undefined };
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Turns a constraint violation into the client error it means: a uniqueness clash is CONFLICT
 * (named by `messages`, keyed by constraint name), a vanished reference is CONFLICT too (a
 * concurrent delete). Anything else is rethrown unchanged and ends up masked as internal.
 */
export function translateConstraintError(error: unknown, messages: Readonly<Record<string, string>>): never {
  const pg = pgError(error);
  if (pg?.code === UNIQUE_VIOLATION || pg?.code === FOREIGN_KEY_VIOLATION) {
    const message = (pg.constraint !== undefined ? messages[pg.constraint] : undefined) ??
      (pg.code === UNIQUE_VIOLATION ? 'the value is already in use' : 'a referenced object was changed concurrently');
    throw conflict(message);
  }
  throw error;
}

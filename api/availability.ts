import type { MiddlewareFn } from 'type-graphql';
import { isDatabaseUnreachable } from '../app/database-errors';
import type { ApiContext } from './context';
import { serviceUnavailable } from './errors';

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

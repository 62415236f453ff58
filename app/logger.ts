import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

/**
 * Paths never written to logs, wherever they appear: secrets in inputs, auth headers, digest
 * answers. Redaction is the net under the rule that code does not log secrets in the first place.
 */
export const REDACTED_PATHS = [
  'sipPassword',
  '*.sipPassword',
  'input.sipPassword',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'response',
  '*.response',
];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'trunk-failover' } }, destination);
}

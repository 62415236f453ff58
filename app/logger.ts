import { isMainThread } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config';

/**
 * Field names never written to logs, wherever they appear: SIP passwords and their HA1 hashes
 * (both spellings: entity and column), API key secrets and hashes, auth headers, digest answers,
 * and what TypeORM attaches to a failed query (its SQL, its parameters, the driver's error with
 * the row in `detail`). Redaction is the net under the rule that code does not log secrets in the
 * first place.
 */
export const REDACTED_FIELDS: ReadonlySet<string> = new Set([
  'sipPassword',
  'password',
  'secret',
  'ha1Md5',
  'ha1Sha256',
  'ha1_md5',
  'ha1_sha256',
  'keyHash',
  'key_hash',
  'authorization',
  'Authorization',
  'response',
  'query',
  'parameters',
  'driverError',
  'detail',
]);

export const REDACTED = '[redacted]';

/** How deep below the top of a log line redaction looks; deeper values are logged as they are. */
export const REDACTED_DEPTH = 8;

/** Fields of an error that describe it without carrying data: no SQL, no parameters, no row. */
const SAFE_ERROR_FIELDS = ['code', 'errno', 'syscall', 'severity', 'constraint', 'table', 'column', 'dataType', 'routine', 'address', 'port'] as const;

/** Causes and aggregated errors followed at most this deep, so a cyclic cause cannot loop. */
const MAX_CAUSE_DEPTH = 4;

/**
 * The error serializer: an allow-list instead of pino's copy of every enumerable field, so a
 * TypeORM QueryFailedError (whose `query`, `parameters` and `driverError.detail` hold the row
 * being written, HA1 hashes included) is logged by its type, message, code and stack only; the
 * same for its causes.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const fields = value as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { type: value.constructor.name, message: value.message, stack: value.stack };
  for (const field of SAFE_ERROR_FIELDS) {
    const item = fields[field];
    if (typeof item === 'string' || typeof item === 'number') out[field] = item;
  }
  if (depth < MAX_CAUSE_DEPTH) {
    if (value.cause !== undefined) out.cause = serializeError(value.cause, depth + 1);
    if (value instanceof AggregateError && Array.isArray(value.errors)) out.errors = value.errors.slice(0, 10).map((item: unknown) => serializeError(item, depth + 1));
  }
  return out;
}

/**
 * A log object with every REDACTED_FIELDS value censored and every Error reduced by
 * serializeError, at any depth to REDACTED_DEPTH, in objects and arrays. Copy on write: the
 * caller's objects are never changed, and an object with nothing to redact is returned as is.
 * One walk over the object, instead of pino's redaction paths: a wildcard path per field and
 * depth cost about 40 µs a line (measured, 64 paths), too much for the per-call decision line,
 * which costs under 3 µs in all with this walk.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return serializeError(value);
  // Buffers and typed arrays hold bytes (a datagram), not fields: walking them would cost a step per byte.
  if (value === null || typeof value !== 'object' || depth >= REDACTED_DEPTH || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const redacted = redact(item, depth + 1);
      if (redacted !== item) (copy ??= [...value])[index] = redacted;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const item = object[key];
    const redacted = REDACTED_FIELDS.has(key) ? (item === undefined ? item : REDACTED) : redact(item, depth + 1);
    if (redacted !== item) (copy ??= { ...object })[key] = redacted;
  }
  return copy ?? value;
}

/**
 * Standard output, written without blocking the thread: lines gather until there are
 * `LOG_BATCH_BYTES` or `LOG_FLUSH_MS` has passed, then go out in one asynchronous write. A write
 * holds whole lines and at most `LOG_WRITE_MAX_BYTES` (PIPE_BUF), so the lines of several
 * threads sharing the descriptor never interleave within a line, even on a pipe.
 */
const LOG_BATCH_BYTES = 2048;
export const LOG_WRITE_MAX_BYTES = 4096;
const LOG_FLUSH_MS = 100;

function stdoutDestination(): pino.DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, maxWrite: LOG_WRITE_MAX_BYTES, periodicFlush: LOG_FLUSH_MS });
  // pino flushes the main thread's destination at exit; a worker thread's is flushed here.
  if (!isMainThread) {
    process.once('exit', () => {
      try {
        destination.flushSync();
      } catch {
        // the descriptor is gone: nothing to write to
      }
    });
  }
  return destination;
}

export function createLogger(level: LogLevel, destination: pino.DestinationStream = stdoutDestination()): Logger {
  return pino(
    {
      level,
      formatters: { log: (object) => redact(object) as Record<string, unknown> },
      // pino applies no formatter to a child's bindings (logger.child({...})): its own redaction
      // covers their top-level fields. Top-level paths only: a path with a leading wildcard
      // would run for every field of every line.
      redact: { paths: [...REDACTED_FIELDS], censor: REDACTED },
      serializers: { err: serializeError, error: serializeError },
      base: { service: 'trunk-failover' },
    },
    destination,
  );
}

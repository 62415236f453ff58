import { randomInt } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { hashWords } from '../word-hash';

/**
 * Failed REGISTER attempts per source address, counted once per SIP node: every worker thread of
 * the process shares one table, so an address gets `maxFailures` guesses per window whatever
 * worker its datagrams reach, and a restarted worker finds the counts its predecessor left.
 * After `maxFailures` within `windowMs` the address is refused outright (403, no digest work)
 * for `blockMs`. The registrar counts a failure only when the REGISTER answered a nonce issued to
 * that very address (worker/registrar/nonce.ts): a spoofed source cannot run up another's count.
 * Runs on both threads: the main thread creates the table (app/sip-role.ts) and
 * frees the locks of a dead worker; each worker counts.
 *
 * Layout, one SharedArrayBuffer created once per process and passed to each worker:
 *  - entries: `capacity` × 40 bytes from byte 0 (so the Float64 fields are 8-byte aligned):
 *      Int32 words 0-3  the address, 16 bytes (IPv4 as IPv4-mapped IPv6, RFC 4291 section 2.5.5.2)
 *      Int32 word 4     failures in the current window; 0 = the entry is free
 *      Int32 word 5     unused
 *      Float64 at +24   window start (epoch ms)
 *      Float64 at +32   blocked until (epoch ms; 0 when never blocked)
 *  - locks: one Int32 per bucket of `WAYS` entries, after the entries: 0 free, a worker index + 1
 *    while that worker holds it, -1 for the main thread.
 * An address hashes (with a per-process random seed, so an attacker cannot aim at a bucket) to one
 * bucket and lives in one of its `WAYS` entries: a lookup reads at most 8 entries, and an entry
 * whose window and block are both over is reused in place, so the table never needs sweeping.
 * Every access to a bucket's entries happens under its lock (compare-exchange 0 → owner, release by
 * store 0 + notify). The lock operations are sequentially consistent, which orders the plain reads
 * and writes between them (ECMAScript memory model), so the Float64 fields need no atomics.
 *
 * Memory: `capacity × 40 + capacity / 8 × 4` bytes; the default 65,536 entries take 2,654,208
 * bytes (2.5 MiB) whatever the traffic.
 *
 * Fails safe: a failure from an address whose bucket has no free entry (the table is full there,
 * e.g. during a flood from many addresses) is answered as blocked, so a full table never lets
 * guesses through. A lock not obtained within `LOCK_WAIT_ROUNDS × LOCK_WAIT_MS` (a worker
 * terminated while holding it, until the main thread frees it) also counts as blocked. An address
 * with no failures is never refused because of a full table.
 */
export interface ThrottleOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly blockMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 60_000, blockMs: 60_000 };

/** What counting a failure came to: still allowed, blocked now, or not countable (fails safe: treat as blocked). */
export type FailureVerdict = 'counted' | 'blocked' | 'untracked';

/** What the registrar needs of the throttle. */
export interface FailureThrottle {
  isBlocked(source: string, now: number): boolean;
  fail(source: string, now: number): FailureVerdict;
  succeed(source: string): void;
}

/** What the main thread passes to each worker in `workerData` (structured-clonable). */
export interface ThrottleBuffers {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly seed: number;
  readonly options: ThrottleOptions;
}

export const DEFAULT_THROTTLE_CAPACITY = 65_536;
/** Entries per bucket. */
export const WAYS = 8;

const ENTRY_BYTES = 40;
const ENTRY_WORDS = ENTRY_BYTES / 4;
const ENTRY_DOUBLES = ENTRY_BYTES / 8;
const FAILURES = 4;
const WINDOW_START = 3;
const BLOCKED_UNTIL = 4;
const MAIN_THREAD = -1;
const FREE = 0;
const LOCK_WAIT_MS = 1;
const LOCK_WAIT_ROUNDS = 20;

export class SharedFailureThrottle implements FailureThrottle {
  private readonly words: Int32Array;
  private readonly times: Float64Array;
  private readonly locks: Int32Array;
  private readonly bucketMask: number;
  private readonly owner: number;
  private readonly options: ThrottleOptions;
  private readonly seed: number;
  /** Reused for every lookup. */
  private readonly key = new Int32Array(4);

  static byteLength(capacity: number): number {
    checkCapacity(capacity);
    return capacity * ENTRY_BYTES + (capacity / WAYS) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** Allocates the table (main thread, once per process). */
  static create(options: ThrottleOptions = DEFAULT_THROTTLE, capacity = DEFAULT_THROTTLE_CAPACITY): ThrottleBuffers {
    return { buffer: new SharedArrayBuffer(SharedFailureThrottle.byteLength(capacity)), capacity, seed: randomInt(2 ** 31), options };
  }

  /** A worker's view (`workerIndex`), or without one the main thread's (stats, releaseWorker). */
  static attach(buffers: ThrottleBuffers, workerIndex?: number): SharedFailureThrottle {
    return new SharedFailureThrottle(buffers, workerIndex);
  }

  private constructor(buffers: ThrottleBuffers, workerIndex: number | undefined) {
    if (buffers.buffer.byteLength !== SharedFailureThrottle.byteLength(buffers.capacity)) {
      throw new RangeError('throttle buffer does not match its capacity');
    }
    if (workerIndex !== undefined && !(Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < 2 ** 30)) {
      throw new RangeError(`worker index ${workerIndex} is not valid`);
    }
    const entriesBytes = buffers.capacity * ENTRY_BYTES;
    this.words = new Int32Array(buffers.buffer, 0, entriesBytes / 4);
    this.times = new Float64Array(buffers.buffer, 0, entriesBytes / 8);
    this.locks = new Int32Array(buffers.buffer, entriesBytes, buffers.capacity / WAYS);
    this.bucketMask = buffers.capacity / WAYS - 1;
    this.owner = workerIndex === undefined ? MAIN_THREAD : workerIndex + 1;
    this.options = buffers.options;
    this.seed = buffers.seed;
  }

  isBlocked(source: string, now: number): boolean {
    return this.inBucket(source, true, (first) => {
      const entry = this.find(first);
      return entry !== null && this.times[entry * ENTRY_DOUBLES + BLOCKED_UNTIL] > now;
    });
  }

  /** Counts a failure of `source`. */
  fail(source: string, now: number): FailureVerdict {
    return this.inBucket<FailureVerdict>(source, 'untracked', (first) => {
      const entry = this.find(first) ?? this.claim(first, now);
      if (entry === null) return 'untracked';
      const words = this.words;
      const times = this.times;
      const at = entry * ENTRY_DOUBLES;
      if (now - times[at + WINDOW_START] > this.options.windowMs) {
        words[entry * ENTRY_WORDS + FAILURES] = 0;
        times[at + WINDOW_START] = now;
      }
      const failures = ++words[entry * ENTRY_WORDS + FAILURES];
      if (failures >= this.options.maxFailures) times[at + BLOCKED_UNTIL] = now + this.options.blockMs;
      return times[at + BLOCKED_UNTIL] > now ? 'blocked' : 'counted';
    });
  }

  /** A source that authenticated starts afresh (a block still in force was checked before). */
  succeed(source: string): void {
    this.inBucket(source, undefined, (first) => {
      const entry = this.find(first);
      if (entry !== null) this.free(entry);
    });
  }

  /**
   * Main thread, after a worker exited: frees the bucket locks it held when it died, so its
   * buckets do not refuse every failure. Returns how many it held (0 or, rarely, 1).
   */
  releaseWorker(workerIndex: number): number {
    let released = 0;
    for (let bucket = 0; bucket < this.locks.length; bucket++) {
      if (Atomics.compareExchange(this.locks, bucket, workerIndex + 1, FREE) === workerIndex + 1) {
        Atomics.notify(this.locks, bucket);
        released++;
      }
    }
    return released;
  }

  /** Addresses counted and addresses blocked at `now`, for the node's counters line. */
  stats(now: number): { tracked: number; blocked: number } {
    let tracked = 0;
    let blocked = 0;
    for (let bucket = 0; bucket <= this.bucketMask; bucket++) {
      this.locked(bucket, undefined, () => {
        for (let entry = bucket * WAYS; entry < (bucket + 1) * WAYS; entry++) {
          if (this.words[entry * ENTRY_WORDS + FAILURES] === FREE) continue;
          const at = entry * ENTRY_DOUBLES;
          if (this.times[at + BLOCKED_UNTIL] > now) blocked++;
          if (this.times[at + BLOCKED_UNTIL] > now || now - this.times[at + WINDOW_START] <= this.options.windowMs) tracked++;
        }
      });
    }
    return { tracked, blocked };
  }

  /** Runs `work` on the source's bucket under its lock; `unavailable` when the lock or the address is not to be had. */
  private inBucket<T>(source: string, unavailable: T, work: (first: number) => T): T {
    if (!parseAddress(source, this.key)) return unavailable;
    const bucket = hashWords(this.key, this.seed) & this.bucketMask;
    return this.locked(bucket, unavailable, () => work(bucket * WAYS));
  }

  private locked<T>(bucket: number, unavailable: T, work: () => T): T {
    const locks = this.locks;
    for (let round = 0; ; round++) {
      const holder = Atomics.compareExchange(locks, bucket, FREE, this.owner);
      if (holder === FREE) break;
      if (round >= LOCK_WAIT_ROUNDS) return unavailable;
      Atomics.wait(locks, bucket, holder, LOCK_WAIT_MS);
    }
    try {
      return work();
    } finally {
      Atomics.store(locks, bucket, FREE);
      Atomics.notify(locks, bucket, 1);
    }
  }

  /** The entry of the current key in the bucket starting at `first`, or null. Under the bucket lock. */
  private find(first: number): number | null {
    const words = this.words;
    const key = this.key;
    for (let entry = first; entry < first + WAYS; entry++) {
      const base = entry * ENTRY_WORDS;
      if (words[base + FAILURES] !== FREE && words[base] === key[0] && words[base + 1] === key[1] && words[base + 2] === key[2] && words[base + 3] === key[3]) {
        return entry;
      }
    }
    return null;
  }

  /** A free entry (or one whose window and block are over) of the bucket, taken for the current key; null when full. */
  private claim(first: number, now: number): number | null {
    for (let entry = first; entry < first + WAYS; entry++) {
      const at = entry * ENTRY_DOUBLES;
      const reusable =
        this.words[entry * ENTRY_WORDS + FAILURES] === FREE ||
        (this.times[at + BLOCKED_UNTIL] <= now && now - this.times[at + WINDOW_START] > this.options.windowMs);
      if (!reusable) continue;
      const base = entry * ENTRY_WORDS;
      this.words.set(this.key, base);
      this.words[base + FAILURES] = 0;
      this.times[at + WINDOW_START] = now;
      this.times[at + BLOCKED_UNTIL] = 0;
      return entry;
    }
    return null;
  }

  private free(entry: number): void {
    this.words.fill(0, entry * ENTRY_WORDS, (entry + 1) * ENTRY_WORDS);
  }
}

/** Writes the address's 16 bytes (IPv4 mapped into IPv6) as 4 big-endian words; false if it is no IP address. */
function parseAddress(source: string, out: Int32Array): boolean {
  const zone = source.indexOf('%');
  const text = zone < 0 ? source : source.slice(0, zone);
  if (!ipaddr.isValid(text)) return false;
  const parsed = ipaddr.parse(text);
  const bytes = parsed.kind() === 'ipv4' ? (parsed as ipaddr.IPv4).toIPv4MappedAddress().toByteArray() : parsed.toByteArray();
  for (let word = 0; word < 4; word++) {
    out[word] = (bytes[word * 4] << 24) | (bytes[word * 4 + 1] << 16) | (bytes[word * 4 + 2] << 8) | bytes[word * 4 + 3];
  }
  return true;
}

function checkCapacity(capacity: number): void {
  // Buckets are a power of two so the hash wraps with a mask.
  const buckets = capacity / WAYS;
  if (!(Number.isInteger(buckets) && buckets >= 1 && (buckets & (buckets - 1)) === 0 && capacity <= 1 << 24)) {
    throw new RangeError(`throttle capacity must be ${WAYS} × a power of two, up to 2^24; got ${capacity}`);
  }
}

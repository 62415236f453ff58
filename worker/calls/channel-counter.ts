import { hashWords } from '../word-hash';
import { isUuid } from '../../domain/uuid';

/**
 * Concurrent calls per trunk, counted across the SIP worker threads of one process in shared
 * memory (DESIGN section 3). A worker takes a channel before an INVITE leaves us and gives it back
 * when the call ends; `tryAcquire` refusing is the `CONCURRENCY_LIMIT` trigger, decided with no
 * wait and no message to another thread.
 *
 * Layout, all Int32 in one SharedArrayBuffer:
 *  - slots: `capacity` × 8 words: [state, uuid0, uuid1, uuid2, uuid3, global count, unused, unused].
 *    An open-addressing table keyed by the trunk's uuid (16 bytes as 4 words), linear probing from
 *    a hash of the uuid. State 0 empty, 1 being written, 2 ready; a slot is claimed with a
 *    compare-exchange 0 → 1 and published by storing 2 after the key, so a reader that sees 2 sees
 *    the whole key. Slots are never freed: lock-free readers could not tell a reused slot from
 *    theirs. A trunk keeps its slot for the life of the process.
 *  - tallies: `maxWorkers` rows × `capacity` words: how many of a slot's calls each worker holds,
 *    so the supervisor can give back a dead worker's calls (`returnWorker`). Worker-major, so each
 *    worker writes only its own row and rows do not share cache lines.
 *
 * Memory: `capacity × (8 + maxWorkers) × 4` bytes. The defaults (16,384 trunks, 64 workers) take
 * 16,384 × 72 × 4 = 4,718,592 bytes (4.5 MiB): 512 KiB of slots and 4 MiB of tallies. Probing
 * stays short below about 50 % load, so size `capacity` at twice the trunks the node serves.
 *
 * A full table fails safe: `tryAcquire` returns false (no channel) rather than overwrite a slot,
 * and `isFull(trunkId)` lets the caller log why.
 */

export const DEFAULT_CAPACITY = 16_384;
export const DEFAULT_MAX_WORKERS = 64;

const SLOT_WORDS = 8;
const STATE = 0;
const KEY = 1;
const COUNT = 5;
const EMPTY = 0;
const WRITING = 1;
const READY = 2;
/**
 * How long a reader waits for a slot another thread is writing (five plain stores) before it gives
 * up and refuses: only a writer terminated in the middle could take this long.
 */
const WRITING_WAIT_MS = 1;
const WRITING_WAIT_ROUNDS = 50;
const NOT_FOUND = -1;

export interface ChannelCounterOptions {
  /** Slots in the table, a power of two. */
  readonly capacity?: number;
  /** Workers that can hold tallies: worker indexes run from 0 to maxWorkers - 1. */
  readonly maxWorkers?: number;
}

/** What the main thread passes to each worker in `workerData` (structured-clonable). */
export interface ChannelCounterBuffers {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly maxWorkers: number;
}

export interface TrunkLoad {
  readonly trunkId: string;
  readonly active: number;
}

export class ChannelCounter {
  private readonly words: Int32Array;
  private readonly capacity: number;
  private readonly mask: number;
  private readonly maxWorkers: number;
  /** Start of this worker's tally row, or -1 for the main thread's view. */
  private readonly tallyRow: number;
  /** Reused for every lookup, so the call path allocates nothing. */
  private readonly key = new Int32Array(4);
  /**
   * Trunk id → slot, per thread. Safe because a slot never changes trunk once written, and it
   * spares the call path the uuid parse and the probe.
   */
  private readonly slotOf = new Map<string, number>();

  static byteLength(options: ChannelCounterOptions = {}): number {
    const { capacity, maxWorkers } = checkOptions(options);
    return capacity * (SLOT_WORDS + maxWorkers) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** Allocates the shared memory; the main thread keeps a view with `attach(buffers)`. */
  static create(options: ChannelCounterOptions = {}): ChannelCounterBuffers {
    const { capacity, maxWorkers } = checkOptions(options);
    return { buffer: new SharedArrayBuffer(ChannelCounter.byteLength({ capacity, maxWorkers })), capacity, maxWorkers };
  }

  /** A worker's view (`workerIndex`), or without one the main thread's (entries, returnWorker). */
  static attach(buffers: ChannelCounterBuffers, workerIndex?: number): ChannelCounter {
    return new ChannelCounter(buffers, workerIndex);
  }

  private constructor(buffers: ChannelCounterBuffers, workerIndex: number | undefined) {
    const { capacity, maxWorkers } = checkOptions(buffers);
    if (buffers.buffer.byteLength !== ChannelCounter.byteLength({ capacity, maxWorkers })) {
      throw new RangeError('channel counter buffer does not match its capacity and maxWorkers');
    }
    if (workerIndex !== undefined && !(Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < maxWorkers)) {
      throw new RangeError(`worker index ${workerIndex} is outside 0..${maxWorkers - 1}`);
    }
    this.words = new Int32Array(buffers.buffer);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxWorkers = maxWorkers;
    this.tallyRow = workerIndex === undefined ? -1 : this.tallyStart(workerIndex);
  }

  /**
   * Takes one channel of the trunk if fewer than `limit` are in use across all workers. False when
   * the limit is reached, and also when the table is full (see `isFull`).
   */
  tryAcquire(trunkId: string, limit: number): boolean {
    const row = this.workerRow();
    const slot = this.find(trunkId, true);
    if (slot === NOT_FOUND) return false;
    const count = slot * SLOT_WORDS + COUNT;
    for (;;) {
      const current = Atomics.load(this.words, count);
      if (current >= limit) return false;
      if (Atomics.compareExchange(this.words, count, current, current + 1) === current) break;
    }
    // Global first, tally second: a worker terminated between the two leaks one channel until
    // restart instead of letting a trunk exceed its limit.
    Atomics.add(this.words, row + slot, 1);
    return true;
  }

  /** Gives back a channel this worker took. Returns false (and changes nothing) if it held none. */
  release(trunkId: string): boolean {
    const row = this.workerRow();
    const slot = this.find(trunkId, false);
    if (slot === NOT_FOUND) return false;
    const tally = row + slot;
    if (Atomics.load(this.words, tally) <= 0) return false;
    Atomics.sub(this.words, tally, 1);
    this.subtractGlobal(slot, 1);
    return true;
  }

  /** Channels in use by the trunk across all workers. */
  active(trunkId: string): number {
    const slot = this.find(trunkId, false);
    return slot === NOT_FOUND ? 0 : Atomics.load(this.words, slot * SLOT_WORDS + COUNT);
  }

  /** Whether `trunkId` has no slot and none is left: why `tryAcquire` refused, for the log line. */
  isFull(trunkId: string): boolean {
    if (this.find(trunkId, false) !== NOT_FOUND) return false;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (Atomics.load(this.words, slot * SLOT_WORDS + STATE) === EMPTY) return false;
    }
    return true;
  }

  /**
   * Main thread, after a worker died: subtracts its tallies from the trunks' counts and zeroes them.
   * Returns the number of channels given back. Call it only once the worker has exited, so no
   * thread writes that row meanwhile.
   */
  returnWorker(workerIndex: number): number {
    if (!(Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < this.maxWorkers)) {
      throw new RangeError(`worker index ${workerIndex} is outside 0..${this.maxWorkers - 1}`);
    }
    const row = this.tallyStart(workerIndex);
    let returned = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      const held = Atomics.exchange(this.words, row + slot, 0);
      if (held > 0) {
        this.subtractGlobal(slot, held);
        returned += held;
      }
    }
    return returned;
  }

  /** Every trunk that has taken a channel since start, with its channels in use now (may be 0). */
  entries(): TrunkLoad[] {
    const loads: TrunkLoad[] = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      const base = slot * SLOT_WORDS;
      if (Atomics.load(this.words, base + STATE) !== READY) continue;
      loads.push({ trunkId: formatUuid(this.words, base + KEY), active: Atomics.load(this.words, base + COUNT) });
    }
    return loads;
  }

  /** Clamped at zero so a bookkeeping slip can only ever refuse calls, never admit extra ones. */
  private subtractGlobal(slot: number, amount: number): void {
    const count = slot * SLOT_WORDS + COUNT;
    for (;;) {
      const current = Atomics.load(this.words, count);
      const next = Math.max(0, current - amount);
      if (Atomics.compareExchange(this.words, count, current, next) === current) return;
    }
  }

  /** The trunk's slot, claiming an empty one when `claim`; NOT_FOUND if absent or the table is full. */
  private find(trunkId: string, claim: boolean): number {
    const cached = this.slotOf.get(trunkId);
    if (cached !== undefined) return cached;
    const slot = this.probe(trunkId, claim);
    if (slot !== NOT_FOUND) this.slotOf.set(trunkId, slot);
    return slot;
  }

  private probe(trunkId: string, claim: boolean): number {
    const key = this.key;
    parseUuid(trunkId, key);
    const words = this.words;
    let slot = hashWords(key) & this.mask;
    for (let probe = 0; probe < this.capacity; probe++, slot = (slot + 1) & this.mask) {
      const base = slot * SLOT_WORDS;
      let state = Atomics.load(words, base + STATE);
      if (state === EMPTY) {
        if (!claim) return NOT_FOUND;
        state = Atomics.compareExchange(words, base + STATE, EMPTY, WRITING);
        if (state === EMPTY) {
          words[base + KEY] = key[0];
          words[base + KEY + 1] = key[1];
          words[base + KEY + 2] = key[2];
          words[base + KEY + 3] = key[3];
          Atomics.store(words, base + STATE, READY);
          Atomics.notify(words, base + STATE);
          return slot;
        }
      }
      if (state === WRITING && !this.awaitReady(base)) return NOT_FOUND;
      if (
        words[base + KEY] === key[0] &&
        words[base + KEY + 1] === key[1] &&
        words[base + KEY + 2] === key[2] &&
        words[base + KEY + 3] === key[3]
      ) {
        return slot;
      }
    }
    return NOT_FOUND;
  }

  /** Waits for another thread to publish the slot it claimed; false if it never does. */
  private awaitReady(base: number): boolean {
    return waitWhile(this.words, base + STATE, WRITING) && Atomics.load(this.words, base + STATE) === READY;
  }

  private workerRow(): number {
    if (this.tallyRow < 0) throw new Error('the main thread view of the channel counter cannot take or release channels');
    return this.tallyRow;
  }

  private tallyStart(workerIndex: number): number {
    return this.capacity * SLOT_WORDS + workerIndex * this.capacity;
  }
}

function checkOptions(options: ChannelCounterOptions): { capacity: number; maxWorkers: number } {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const maxWorkers = options.maxWorkers ?? DEFAULT_MAX_WORKERS;
  // A power of two lets the probe wrap with a mask.
  if (!(Number.isInteger(capacity) && capacity >= 1 && (capacity & (capacity - 1)) === 0 && capacity <= 1 << 24)) {
    throw new RangeError(`channel counter capacity must be a power of two up to 2^24, got ${capacity}`);
  }
  if (!(Number.isInteger(maxWorkers) && maxWorkers >= 1 && maxWorkers <= 1024)) {
    throw new RangeError(`channel counter maxWorkers must be 1..1024, got ${maxWorkers}`);
  }
  return { capacity, maxWorkers };
}

/** Writes the uuid's 16 bytes as 4 big-endian words into `out`. Trunk ids are PostgreSQL uuids. */
export function parseUuid(uuid: string, out: Int32Array): void {
  if (!isUuid(uuid)) throw new TypeError(`not a uuid: ${JSON.stringify(uuid)}`);
  let word = 0;
  let nibbles = 0;
  let w = 0;
  for (let i = 0; i < 36; i++) {
    const c = uuid.charCodeAt(i);
    if (c === 0x2d) continue;
    word = (word << 4) | hexValue(c);
    if (++nibbles === 8) {
      out[w++] = word;
      word = 0;
      nibbles = 0;
    }
  }
}

function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x57;
}

function formatUuid(words: Int32Array, at: number): string {
  const hex = [0, 1, 2, 3].map((k) => (words[at + k] >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Waits while `words[index]` is `value`, for another thread's few stores (WRITING_WAIT_ROUNDS ×
 * WRITING_WAIT_MS at most); false if it still is, as only a thread terminated in the middle leaves it.
 * Shared with the trial counter (health/trial-counter.ts).
 */
export function waitWhile(words: Int32Array, index: number, value: number): boolean {
  for (let round = 0; round < WRITING_WAIT_ROUNDS; round++) {
    if (Atomics.load(words, index) !== value) return true;
    Atomics.wait(words, index, value, WRITING_WAIT_MS);
  }
  return Atomics.load(words, index) !== value;
}

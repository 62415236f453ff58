import { parseUuid, waitWhile } from '../calls/channel-counter';
import { hashWords } from '../word-hash';

/**
 * Calls to `DOWN` trunks, counted per trunk across the SIP worker threads of one process in shared
 * memory, so that "every 10th call to a `DOWN` trunk tries the PBX" holds on a node with several
 * workers (passive detection has no probes to bring a trunk back: its trial calls do).
 *
 * The count belongs to one `DOWN` period, named by the health's `since`: a call that sees another
 * `since` than the slot holds starts the count again. `since` is kept modulo 2^31 ms (about 24.8
 * days): two periods of one trunk that far apart to the millisecond are not a concern.
 *
 * Layout, all Int32 in one SharedArrayBuffer: `capacity` slots × 8 words: [state, uuid0..uuid3,
 * lock, period, count]. Open addressing keyed by the trunk's uuid as in channel-counter.ts (state 0
 * empty, 1 being written, 2 ready; slots never freed). `period` and `count` change together under
 * the slot's lock, held for a few plain stores. Memory: `capacity × 32` bytes (512 KiB at the
 * default 16,384 trunks). A full table fails safe: no trial, the trunk stays on failover. So does a
 * slot another thread never finished (a worker terminated in the middle of its few stores): the
 * wait for it is bounded, as in channel-counter.ts, and a call never hangs its worker.
 */

export const DEFAULT_TRIAL_CAPACITY = 16_384;
/** Every this many calls to a `DOWN` trunk tries the PBX (the first never does). */
export const TRIAL_EVERY = 10;

const SLOT_WORDS = 8;
const STATE = 0;
const KEY = 1;
const LOCK = 5;
const PERIOD = 6;
const COUNT = 7;
const EMPTY = 0;
const WRITING = 1;
const READY = 2;
const NOT_FOUND = -1;
const PERIOD_MODULUS = 2 ** 31;
/** How many times a thread waits out the lock's holder (each wait bounded) before it gives up. */
const LOCK_TRIES = 8;

export interface TrialCounterBuffers {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
}

/** What `decide()` reads: whether this call to a `DOWN` trunk is a trial. Counts the call. */
export interface TrialView {
  /** Counts one call to the trunk in its `DOWN` period `since`; true for every `TRIAL_EVERY`th. */
  isTrial(trunkId: string, since: number): boolean;
}

export class TrialCounter implements TrialView {
  private readonly words: Int32Array;
  private readonly mask: number;
  private readonly key = new Int32Array(4);
  private readonly slotOf = new Map<string, number>();

  static create(capacity = DEFAULT_TRIAL_CAPACITY): TrialCounterBuffers {
    if (!(Number.isInteger(capacity) && capacity >= 1 && (capacity & (capacity - 1)) === 0 && capacity <= 1 << 24)) {
      throw new RangeError(`trial counter capacity must be a power of two up to 2^24, got ${capacity}`);
    }
    return { buffer: new SharedArrayBuffer(capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT), capacity };
  }

  static attach(buffers: TrialCounterBuffers): TrialCounter {
    return new TrialCounter(buffers);
  }

  private constructor(private readonly buffers: TrialCounterBuffers) {
    if (buffers.buffer.byteLength !== buffers.capacity * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT) {
      throw new RangeError('trial counter buffer does not match its capacity');
    }
    this.words = new Int32Array(buffers.buffer);
    this.mask = buffers.capacity - 1;
  }

  isTrial(trunkId: string, since: number): boolean {
    const slot = this.find(trunkId);
    if (slot === NOT_FOUND) return false;
    const base = slot * SLOT_WORDS;
    const period = since % PERIOD_MODULUS;
    const words = this.words;
    if (!acquire(words, base + LOCK)) return false;
    let count: number;
    try {
      if (words[base + PERIOD] !== period) {
        words[base + PERIOD] = period;
        words[base + COUNT] = 0;
      }
      count = words[base + COUNT] + 1;
      words[base + COUNT] = count;
    } finally {
      Atomics.store(words, base + LOCK, 0);
      Atomics.notify(words, base + LOCK, 1);
    }
    return count % TRIAL_EVERY === 0;
  }

  private find(trunkId: string): number {
    const cached = this.slotOf.get(trunkId);
    if (cached !== undefined) return cached;
    const key = this.key;
    parseUuid(trunkId, key);
    const words = this.words;
    let slot = hashWords(key) & this.mask;
    for (let probe = 0; probe < this.buffers.capacity; probe++, slot = (slot + 1) & this.mask) {
      const base = slot * SLOT_WORDS;
      let state = Atomics.load(words, base + STATE);
      if (state === EMPTY) {
        state = Atomics.compareExchange(words, base + STATE, EMPTY, WRITING);
        if (state === EMPTY) {
          for (let k = 0; k < 4; k++) words[base + KEY + k] = key[k];
          // No period is -1: `since % 2^31` is never negative.
          words[base + PERIOD] = -1;
          Atomics.store(words, base + STATE, READY);
          this.slotOf.set(trunkId, slot);
          return slot;
        }
      }
      // Another thread is writing this slot's key: a few stores, so wait them out (bounded).
      if (state === WRITING && !waitWhile(words, base + STATE, WRITING)) return NOT_FOUND;
      if (words[base + KEY] === key[0] && words[base + KEY + 1] === key[1] && words[base + KEY + 2] === key[2] && words[base + KEY + 3] === key[3]) {
        this.slotOf.set(trunkId, slot);
        return slot;
      }
    }
    return NOT_FOUND;
  }
}

/** Takes the lock word at `index` (0 free, 1 held), waiting (bounded) for its holder; false if it never came free. */
function acquire(words: Int32Array, index: number): boolean {
  for (let tries = 0; tries < LOCK_TRIES; tries++) {
    if (Atomics.compareExchange(words, index, 0, 1) === 0) return true;
    if (!waitWhile(words, index, 1)) return false;
  }
  return false;
}

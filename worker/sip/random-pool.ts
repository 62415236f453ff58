import { randomFillSync } from 'node:crypto';

/** Bytes one refill draws from the operating system's generator: a tag takes 6, so about 680 tags a call. */
export const RANDOM_POOL_BYTES = 4096;

/**
 * Cryptographic random bytes handed out from a buffer refilled `size` bytes at a time, so that a tag or a nonce
 * costs a slice of the buffer instead of a call into the crypto library each (one such call per message was
 * about 3 % of a worker's time at 1,000 calls/s). The bytes are those of `crypto.randomFillSync`, and each is
 * handed out once: a refill happens before a request would read past the end, never to top up a part.
 */
export class RandomPool {
  private readonly buffer: Buffer;
  private at: number;

  constructor(
    readonly size = RANDOM_POOL_BYTES,
    private readonly refill: (buffer: Buffer) => void = (buffer) => {
      randomFillSync(buffer);
    },
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`RandomPool: size ${size} is no positive integer`);
    // Its own memory, not a slice of Node's shared pool that other buffers would be cut from.
    this.buffer = Buffer.allocUnsafeSlow(size);
    this.at = size;
  }

  /** `bytes` random bytes as 2 * `bytes` lower-case hex digits. */
  hex(bytes: number): string {
    const from = this.take(bytes);
    return this.buffer.toString('hex', from, from + bytes);
  }

  /** Copies `bytes` random bytes into `target` at `offset`. */
  copyTo(target: Uint8Array, offset: number, bytes: number): void {
    const from = this.take(bytes);
    this.buffer.copy(target, offset, from, from + bytes);
  }

  private take(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > this.size) throw new RangeError(`RandomPool: ${bytes} bytes from a pool of ${this.size}`);
    if (this.at + bytes > this.size) {
      this.refill(this.buffer);
      this.at = 0;
    }
    const from = this.at;
    this.at += bytes;
    return from;
  }
}

/**
 * The pool of this thread (each worker thread loads its own copy of this module, so threads never share bytes).
 * Randomness is an ambient service here as `crypto.randomBytes` is: code that a test must make deterministic
 * takes a `RandomPool` or a function instead.
 */
export const threadRandomPool = new RandomPool();

/**
 * The datagrams one thread hands another in one `postMessage`: every datagram of an event-loop
 * turn for the same receiver (the edge's to one worker, a worker's sends to the edge) travels as
 * one message, so each turn costs the receiving thread one wake-up instead of one per datagram.
 *
 * Everything but the addresses travels in one ArrayBuffer, transferred (moved, not copied again
 * and not walked by the structured clone): the datagrams' bytes back to back from offset 0, then
 * a table of `count` 16-byte rows, 8-aligned, ending the buffer:
 *
 *   row k: [0..4) end of datagram k (Uint32; it starts where k - 1 ends, k = 0 at 0)
 *          [4..8) its port (Uint32)
 *          [8..16) when the edge read it (Float64, handoff-clock.ts; 0 on a worker's sends)
 *
 * so the table starts at `bytes.byteLength - 16 * count`, in the platform's byte order (both
 * ends are threads of one process). The addresses are one string, separated by single spaces
 * (no IP literal has one).
 */

/**
 * A batch is posted as soon as it holds this many datagrams, without waiting for the end of the
 * turn: past a few dozen the per-message cost is already spread thin, and the receiver starts on
 * a long burst (the edge reads up to 32 datagrams per socket wake-up, a worker may send more)
 * while the sender is still at it.
 */
export const MAX_BATCH_DATAGRAMS = 64;

/** The packed datagrams as they cross threads (protocol.ts `DatagramsMessage`, `SendsMessage`). */
export interface PackedDatagrams {
  /** Their bytes, then their table (see above). Transferred. */
  readonly bytes: ArrayBuffer;
  readonly count: number;
  /** Their addresses, in order, separated by single spaces. */
  readonly addresses: string;
}

const ROW_BYTES = 16;
/** Starts small (a dozen typical datagrams); grows by doubling to what a turn needs. */
const INITIAL_STAGING_BYTES = 16 * 1024;
/** A staging area grown past this by a burst of large datagrams is given back after its batch. */
const KEPT_STAGING_BYTES = 256 * 1024;

/**
 * Collects datagrams until `take()`. Each `add` copies the bytes into a staging area the batch
 * reuses, so the caller keeps its Buffer; `take()` copies the used part once more into the
 * ArrayBuffer that is transferred. Both copies are of a few hundred bytes, small beside a
 * `postMessage`.
 */
export class DatagramBatch {
  private staging = new Uint8Array(INITIAL_STAGING_BYTES);
  private used = 0;
  private ends: number[] = [];
  private ports: number[] = [];
  private stamps: number[] = [];
  private addresses = '';

  get size(): number {
    return this.ends.length;
  }

  /** Adds one datagram, with the time it arrived (0 when the receiver has no use for it); returns the batch's size. */
  add(bytes: Uint8Array, address: string, port: number, stamp = 0): number {
    const end = this.used + bytes.length;
    if (end > this.staging.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.staging.length));
      grown.set(this.staging.subarray(0, this.used));
      this.staging = grown;
    }
    this.staging.set(bytes, this.used);
    this.used = end;
    this.addresses = this.ends.length === 0 ? address : `${this.addresses} ${address}`;
    this.ends.push(end);
    this.ports.push(port);
    this.stamps.push(stamp);
    return this.ends.length;
  }

  /** Everything added since the previous `take()`, packed; the batch starts empty again. */
  take(): PackedDatagrams {
    const count = this.ends.length;
    const tableAt = Math.ceil(this.used / 8) * 8;
    const bytes = new ArrayBuffer(tableAt + ROW_BYTES * count);
    new Uint8Array(bytes).set(this.staging.subarray(0, this.used));
    const words = new Uint32Array(bytes, tableAt, 4 * count);
    const stamps = new Float64Array(bytes, tableAt, 2 * count);
    for (let k = 0; k < count; k++) {
      words[4 * k] = this.ends[k];
      words[4 * k + 1] = this.ports[k];
      stamps[2 * k + 1] = this.stamps[k];
    }
    const packed = { bytes, count, addresses: this.addresses };
    if (this.staging.length > KEPT_STAGING_BYTES) this.staging = new Uint8Array(INITIAL_STAGING_BYTES);
    this.used = 0;
    this.ends = [];
    this.ports = [];
    this.stamps = [];
    this.addresses = '';
    return packed;
  }
}

/**
 * Reads a packed batch. A message that does not hold the table its `count` promises reads as
 * empty; a row whose range lies outside the bytes gives a null datagram. Either way nothing is
 * read outside the batch: the sender is our own code, but a bug there must cost a datagram, not
 * the receiving thread.
 */
export class PackedReader {
  readonly count: number;
  private readonly bytes: ArrayBuffer;
  private readonly tableAt: number;
  private readonly words: Uint32Array;
  private readonly stamps: Float64Array;
  private readonly addresses: string[];

  constructor(packed: PackedDatagrams) {
    const count = packed.count;
    const bytes = packed.bytes;
    const tableAt = bytes instanceof ArrayBuffer && Number.isInteger(count) && count > 0 ? bytes.byteLength - ROW_BYTES * count : -1;
    const sound = tableAt >= 0 && tableAt % 8 === 0 && typeof packed.addresses === 'string';
    this.addresses = sound ? packed.addresses.split(' ') : [];
    this.count = sound && this.addresses.length === count ? count : 0;
    this.bytes = this.count > 0 ? bytes : new ArrayBuffer(0);
    this.tableAt = this.count > 0 ? tableAt : 0;
    this.words = new Uint32Array(this.bytes, this.tableAt, 4 * this.count);
    this.stamps = new Float64Array(this.bytes, this.tableAt, 2 * this.count);
  }

  /** Datagram `k` as a Buffer viewing the transferred bytes (no copy), or null when its row is not sound. */
  datagram(k: number): Buffer | null {
    const start = k === 0 ? 0 : this.words[4 * (k - 1)];
    const end = this.words[4 * k];
    if (!(start <= end && end <= this.tableAt)) return null;
    return Buffer.from(this.bytes, start, end - start);
  }

  address(k: number): string {
    return this.addresses[k];
  }

  port(k: number): number {
    return this.words[4 * k + 1];
  }

  /** When the edge read datagram `k` (handoff-clock.ts). */
  stamp(k: number): number {
    return this.stamps[2 * k + 1];
  }
}

/**
 * The datagrams one thread hands another in one `postMessage`: every datagram of an event-loop
 * turn for the same receiver (the edge's to one worker, a worker's sends to the edge) travels as
 * one message, so each turn costs the receiving thread one wake-up instead of one per datagram.
 *
 * Everything but the addresses travels in one ArrayBuffer, transferred (moved, not copied again
 * and not walked by the structured clone): the datagrams' bytes back to back from offset 0, then
 * a table of `count` rows of three Float64 (24 bytes), 8-aligned, ending the buffer:
 *
 *   row k: [end of datagram k (it starts where k - 1 ends, k = 0 at 0), its port,
 *           when the edge read it (handoff-clock.ts; 0 on a worker's sends)]
 *
 * so the table starts at `bytes.byteLength - 24 * count`, in the platform's byte order (both
 * ends are threads of one process). One Float64Array reads it all: each typed-array view costs
 * about as much as copying a datagram. The addresses are one string, separated by single spaces
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

/** Float64 per row of the table. */
const ROW = 3;
/** Starts small (a dozen typical datagrams); grows by doubling to what a turn needs. */
const INITIAL_STAGING_BYTES = 16 * 1024;
/** A staging area grown past this by a burst of large datagrams is given back after its batch. */
const KEPT_STAGING_BYTES = 256 * 1024;

/**
 * Collects datagrams until `take()`. Each `add` copies the bytes into a staging area the batch
 * reuses, so the caller keeps its Buffer; `take()` writes the table behind them and copies the
 * lot once more into the ArrayBuffer that is transferred. Both copies are of a few hundred bytes,
 * small beside a `postMessage`; the staging area's views are made once, not per batch.
 */
export class DatagramBatch {
  private staging = new Uint8Array(INITIAL_STAGING_BYTES);
  private table = new Float64Array(this.staging.buffer);
  private used = 0;
  /** The rows so far (end, port, stamp), copied behind the bytes at `take()`. */
  private rows = new Float64Array(ROW * MAX_BATCH_DATAGRAMS);
  private count = 0;
  private addresses = '';

  get size(): number {
    return this.count;
  }

  /** Adds one datagram, with the time it arrived (0 when the receiver has no use for it); returns the batch's size. */
  add(bytes: Uint8Array, address: string, port: number, stamp = 0): number {
    const end = this.used + bytes.length;
    this.reserve(end);
    this.staging.set(bytes, this.used);
    this.used = end;
    this.addresses = this.count === 0 ? address : `${this.addresses} ${address}`;
    if (ROW * (this.count + 1) > this.rows.length) {
      const grown = new Float64Array(2 * this.rows.length);
      grown.set(this.rows);
      this.rows = grown;
    }
    this.rows[ROW * this.count] = end;
    this.rows[ROW * this.count + 1] = port;
    this.rows[ROW * this.count + 2] = stamp;
    return ++this.count;
  }

  /** Everything added since the previous `take()`, packed; the batch starts empty again. */
  take(): PackedDatagrams {
    const count = this.count;
    const tableAt = Math.ceil(this.used / 8) * 8;
    const total = tableAt + 8 * ROW * count;
    this.reserve(total);
    for (let k = 0, at = tableAt / 8; k < ROW * count; k++, at++) this.table[at] = this.rows[k];
    const packed = { bytes: this.staging.buffer.slice(0, total), count, addresses: this.addresses };
    this.used = 0;
    this.count = 0;
    this.addresses = '';
    if (this.staging.length > KEPT_STAGING_BYTES) this.grow(INITIAL_STAGING_BYTES);
    return packed;
  }

  private reserve(bytes: number): void {
    if (bytes > this.staging.length) this.grow(Math.max(bytes, 2 * this.staging.length));
  }

  private grow(bytes: number): void {
    const grown = new Uint8Array(Math.ceil(bytes / 8) * 8);
    grown.set(this.staging.subarray(0, this.used));
    this.staging = grown;
    this.table = new Float64Array(grown.buffer);
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
  private readonly table: Float64Array;
  private readonly addresses: string[];

  constructor(packed: PackedDatagrams) {
    const count = packed.count;
    const bytes = packed.bytes;
    const tableAt = bytes instanceof ArrayBuffer && Number.isInteger(count) && count > 0 ? bytes.byteLength - 8 * ROW * count : -1;
    const sound = tableAt >= 0 && tableAt % 8 === 0 && typeof packed.addresses === 'string';
    this.addresses = !sound ? [] : count === 1 ? [packed.addresses] : packed.addresses.split(' ');
    this.count = sound && this.addresses.length === count ? count : 0;
    this.bytes = this.count > 0 ? bytes : new ArrayBuffer(0);
    this.tableAt = this.count > 0 ? tableAt : 0;
    this.table = new Float64Array(this.bytes, this.tableAt, ROW * this.count);
  }

  /** Datagram `k` as a Buffer viewing the transferred bytes (no copy), or null when its row is not sound. */
  datagram(k: number): Buffer | null {
    const start = k === 0 ? 0 : this.table[ROW * (k - 1)];
    const end = this.table[ROW * k];
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= this.tableAt)) return null;
    return Buffer.from(this.bytes, start, end - start);
  }

  address(k: number): string {
    return this.addresses[k];
  }

  port(k: number): number {
    return this.table[ROW * k + 1];
  }

  /** When the edge read datagram `k` (handoff-clock.ts). */
  stamp(k: number): number {
    return this.table[ROW * k + 2];
  }
}

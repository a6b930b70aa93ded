/**
 * Builds a COPY … FROM STDIN (FORMAT binary) payload: the speed layer's bulk writes, where
 * PostgreSQL then takes each value as it is stored instead of parsing its text (a timestamptz
 * or uuid from text costs the server noticeably more), and encoding needs no escaping.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 *
 * Usage: `new CopyBinaryWriter()`, then per row `row(n)` followed by n field writes in column
 * order, then `finish()` for the payload (header and trailer included).
 */

/** PostgreSQL's epoch (2000-01-01) in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export class CopyBinaryWriter {
  private buf: Buffer;
  private at = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11); // flags
    this.buf.writeInt32BE(0, 15); // header extension length
    this.at = 19;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): this {
    this.reserve(2);
    this.buf.writeInt16BE(fields, this.at);
    this.at += 2;
    return this;
  }

  null(): this {
    this.reserve(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
    return this;
  }

  /** text (UTF-8). */
  text(s: string): this {
    this.reserve(4 + s.length * 3);
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeInt32BE(n, this.at);
    this.at += 4 + n;
    return this;
  }

  /** uuid from its canonical text (8-4-4-4-12 hex digits; the caller has validated it). */
  uuid(s: string): this {
    this.reserve(20);
    const b = this.buf;
    b.writeInt32BE(16, this.at);
    let o = this.at + 4;
    for (let i = 0; i < s.length; ) {
      if (s.charCodeAt(i) === 45) {
        i++;
        continue;
      }
      b[o++] = (HEX[s.charCodeAt(i)]! << 4) | HEX[s.charCodeAt(i + 1)]!;
      i += 2;
    }
    if (o !== this.at + 20) throw new TypeError(`not a uuid: ${s}`);
    this.at = o;
    return this;
  }

  /** real; NaN is written as NULL. */
  float4OrNull(v: number): this {
    if (Number.isNaN(v)) return this.null();
    this.reserve(8);
    this.buf.writeInt32BE(4, this.at);
    this.buf.writeFloatBE(v, this.at + 4);
    this.at += 8;
    return this;
  }

  int4(v: number): this {
    this.reserve(8);
    this.buf.writeInt32BE(4, this.at);
    this.buf.writeInt32BE(v, this.at + 4);
    this.at += 8;
    return this;
  }

  /** timestamptz from Unix epoch milliseconds (fractions of a millisecond are dropped). */
  timestamptz(ms: number): this {
    this.reserve(12);
    this.buf.writeInt32BE(8, this.at);
    // Microseconds stay well inside 2^53, so two 32-bit halves avoid a BigInt per value.
    const us = (Math.floor(ms) - PG_EPOCH_MS) * 1000;
    const hi = Math.floor(us / 2 ** 32);
    this.buf.writeInt32BE(hi, this.at + 4);
    this.buf.writeUInt32BE(us - hi * 2 ** 32, this.at + 8);
    this.at += 12;
    return this;
  }

  bytea(bytes: Uint8Array): this {
    this.reserve(4 + bytes.length);
    this.buf.writeInt32BE(bytes.length, this.at);
    this.buf.set(bytes, this.at + 4);
    this.at += 4 + bytes.length;
    return this;
  }

  /** The payload, trailer included; the writer is not to be used afterwards. */
  finish(): Buffer {
    this.reserve(2);
    this.buf.writeInt16BE(-1, this.at);
    this.at += 2;
    return this.buf.subarray(0, this.at);
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/**
 * Writes recommendation answers as JSON bytes into one reusable buffer, rec_id included:
 *   {"rec_id": uuid, ...fields, "model_version", "source", "items": [{"item_id", "score"}]}
 * An answer built as a string (template pieces, number-to-string, a UUID string, then the
 * UTF-8 copy uWS makes) left ~3 KB of garbage per request; on the L1 path that made
 * scavenges frequent enough to show in the p99. Here the common case allocates nothing:
 * ids of printable ASCII are copied code by code, scores are printed from integers. Rare
 * cases (ids needing escapes or outside ASCII, tiny or huge scores, extra fields) fall back
 * to JSON.stringify for that piece, so the output is always what JSON.stringify would give.
 */
import { roundScore, type Source } from './answers.js';
import type { RecIds } from './prepared-answer.js';

const ID_AT = '{"rec_id":"'.length;
const QUOTE = 0x22;

/** Something that can copy the rec_id of the answer it just produced (for the log). */
export interface RecIdSource {
  copyRecId(out: Uint8Array, offset: number): void;
}

export class AnswerWriter implements RecIdSource {
  private buf = Buffer.allocUnsafe(4096);
  private at = 0;

  constructor(private readonly ids: RecIds) {}

  /**
   * The answer with a fresh rec_id. The bytes are valid until the next write: send them at
   * once (uWS copies what res.end() is given).
   */
  write(
    fields: Readonly<Record<string, unknown>>,
    modelVersion: string | null,
    source: Source,
    items: readonly string[],
    scores: readonly number[],
  ): Uint8Array {
    for (;;) {
      this.at = 0;
      if (this.tryWrite(fields, modelVersion, source, items, scores)) return this.buf.subarray(0, this.at);
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
    }
  }

  /** A copy of the last answer's bytes, to keep (the cached answers of prepared-answer.ts). */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }

  copyRecId(out: Uint8Array, offset: number): void {
    this.buf.copy(out, offset, ID_AT, ID_AT + 36);
  }

  /** False when the buffer ran out (the caller grows it and starts again). */
  private tryWrite(
    fields: Readonly<Record<string, unknown>>,
    modelVersion: string | null,
    source: Source,
    items: readonly string[],
    scores: readonly number[],
  ): boolean {
    // The dashes come from the template; writeInto fills in the hex digits.
    if (!this.raw('{"rec_id":"00000000-0000-4000-8000-000000000000"')) return false;
    this.ids.writeInto(this.buf, ID_AT);
    for (const key in fields) {
      const value = fields[key];
      if (!this.raw(',') || !this.string(key) || !this.raw(':')) return false;
      if (!(typeof value === 'string' ? this.string(value) : this.json(value))) return false;
    }
    if (!this.raw(',"model_version":')) return false;
    if (!(modelVersion === null ? this.raw('null') : this.string(modelVersion))) return false;
    if (!this.raw(',"source":') || !this.string(source) || !this.raw(',"items":[')) return false;
    for (let i = 0; i < items.length; i++) {
      if (!this.raw(i === 0 ? '{"item_id":' : ',{"item_id":') || !this.string(items[i])) return false;
      if (!this.raw(',"score":') || !this.score(scores[i]) || !this.raw('}')) return false;
    }
    return this.raw(']}');
  }

  /** ASCII text as it is (the fixed parts of the answer). */
  private raw(text: string): boolean {
    const { buf } = this;
    if (this.at + text.length > buf.length) return false;
    for (let i = 0; i < text.length; i++) buf[this.at + i] = text.charCodeAt(i);
    this.at += text.length;
    return true;
  }

  /** A JSON string literal: copied when plain printable ASCII, else JSON.stringify's. */
  private string(s: string): boolean {
    const { buf } = this;
    const start = this.at;
    if (start + s.length + 2 > buf.length) return false;
    buf[start] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return this.json(s);
      buf[start + 1 + i] = c;
    }
    buf[start + 1 + s.length] = QUOTE;
    this.at = start + s.length + 2;
    return true;
  }

  /** Any JSON value through JSON.stringify (the rare paths). */
  private json(value: unknown): boolean {
    const text = JSON.stringify(value) ?? 'null';
    const bytes = Buffer.byteLength(text, 'utf8');
    if (this.at + bytes > this.buf.length) return false;
    this.buf.write(text, this.at, 'utf8');
    this.at += bytes;
    return true;
  }

  /**
   * A score as roundScore leaves it: 6 decimals, printed from the integer round(s·10⁶) —
   * the same digits String() gives, since a number of at most 15 significant digits prints
   * as itself. Scores under 0.01 (6 significant digits) or from 10⁹ up go through String().
   */
  private score(s: number): boolean {
    if (!Number.isFinite(s)) return this.raw('null');
    const a = Math.abs(s);
    if (a < 0.01 || a >= 1e9) return this.raw(String(roundScore(s)));
    // Math.round as roundScore does it (halves round up, also below zero), then the sign.
    let k = Math.round(s * 1e6);
    if (this.buf.length < this.at + 20) return false;
    if (k < 0) {
      this.buf[this.at++] = 0x2d; // '-'
      k = -k;
    }
    const whole = Math.floor(k / 1e6);
    k -= whole * 1e6;
    this.digits(whole);
    if (k === 0) return true;
    let width = 6;
    while (k % 10 === 0) {
      k /= 10;
      width--;
    }
    this.buf[this.at++] = 0x2e; // '.'
    this.padded(k, width);
    return true;
  }

  private digits(n: number): void {
    let width = 1;
    for (let p = 10; p <= n; p *= 10) width++;
    this.padded(n, width);
  }

  /** n in exactly `width` decimal digits (leading zeros), n < 10^width. */
  private padded(n: number, width: number): void {
    let v = n;
    for (let i = width - 1; i >= 0; i--) {
      this.buf[this.at + i] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
    this.at += width;
  }
}

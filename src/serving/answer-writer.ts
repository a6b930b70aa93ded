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
import { REC_ID_AT, REC_ID_LENGTH, type RecIdSource, type RecIds } from './rec-ids.js';

const QUOTE = 0x22;
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
// The fixed pieces, as bytes: TypedArray.set copies them several times faster than a loop.
const OPEN = ascii('{"rec_id":"00000000-0000-4000-8000-000000000000"');
const MODEL_VERSION = ascii(',"model_version":');
const NULL = ascii('null');
const SOURCE = ascii(',"source":');
const ITEMS = ascii(',"items":[');
const FIRST_ITEM = ascii('{"item_id":');
const NEXT_ITEM = ascii(',{"item_id":');
const SCORE = ascii(',"score":');
const CLOSE_ITEM = ascii('}');
const CLOSE = ascii(']}');
const COMMA = ascii(',');
const COLON = ascii(':');

export class AnswerWriter implements RecIdSource {
  private buf = new Uint8Array(4096);
  private at = 0;
  /** Views of the buffer by length, so that handing out an answer allocates nothing either. */
  private views = new Map<number, Uint8Array>();

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
      if (this.tryWrite(fields, modelVersion, source, items, scores)) break;
      this.buf = new Uint8Array(this.buf.length * 2);
      this.views.clear();
    }
    let view = this.views.get(this.at);
    if (view === undefined) {
      if (this.views.size >= 4096) this.views.clear();
      view = this.buf.subarray(0, this.at);
      this.views.set(this.at, view);
    }
    return view;
  }

  /** A copy of the last answer's bytes, to keep (the cached answers of prepared-answer.ts). */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }

  copyRecId(out: Uint8Array, offset: number): void {
    out.set(this.buf.subarray(REC_ID_AT, REC_ID_AT + REC_ID_LENGTH), offset);
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
    if (!this.put(OPEN)) return false;
    this.ids.writeInto(this.buf, REC_ID_AT);
    for (const key in fields) {
      const value = fields[key];
      if (!this.put(COMMA) || !this.string(key) || !this.put(COLON)) return false;
      if (!(typeof value === 'string' ? this.string(value) : this.json(value))) return false;
    }
    if (!this.put(MODEL_VERSION)) return false;
    if (!(modelVersion === null ? this.put(NULL) : this.string(modelVersion))) return false;
    if (!this.put(SOURCE) || !this.string(source) || !this.put(ITEMS)) return false;
    for (let i = 0; i < items.length; i++) {
      if (!this.put(i === 0 ? FIRST_ITEM : NEXT_ITEM) || !this.string(items[i])) return false;
      if (!this.put(SCORE) || !this.score(scores[i]) || !this.put(CLOSE_ITEM)) return false;
    }
    return this.put(CLOSE);
  }

  private put(bytes: Uint8Array): boolean {
    const n = bytes.length;
    const at = this.at;
    const buf = this.buf;
    if (at + n > buf.length) return false;
    // A loop beats TypedArray.set's call overhead for the short pieces most are.
    if (n > 16) buf.set(bytes, at);
    else for (let i = 0; i < n; i++) buf[at + i] = bytes[i];
    this.at = at + n;
    return true;
  }

  /** A JSON string literal: copied when plain printable ASCII, else JSON.stringify's. */
  private string(s: string): boolean {
    const buf = this.buf;
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
    const bytes = Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
    return this.put(bytes);
  }

  /**
   * A score as roundScore leaves it: 6 decimals, printed from the integer round(s·10⁶) —
   * the same digits String() gives, since a number of at most 15 significant digits prints
   * as itself. Scores under 0.01 (6 significant digits) or from 10⁹ up go through String().
   */
  private score(s: number): boolean {
    if (!Number.isFinite(s)) return this.put(NULL);
    const a = Math.abs(s);
    if (a < 0.01 || a >= 1e9) return this.json(roundScore(s));
    if (this.at + 20 > this.buf.length) return false;
    // Math.round as roundScore does it (halves round up, also below zero), then the sign.
    let k = Math.round(s * 1e6);
    if (k < 0) {
      this.buf[this.at++] = 0x2d; // '-'
      k = -k;
    }
    // Below 10⁹ the whole part fits an int32, and the fraction always does.
    const whole = Math.floor(k / 1e6) | 0;
    let frac = (k - whole * 1e6) | 0;
    this.digits(whole);
    if (frac === 0) return true;
    let width = 6;
    while (frac % 10 === 0) {
      frac = (frac / 10) | 0;
      width--;
    }
    this.buf[this.at++] = 0x2e; // '.'
    this.padded(frac, width);
    return true;
  }

  private digits(n: number): void {
    let width = 1;
    for (let p = 10; p <= n; p *= 10) width++;
    this.padded(n, width);
  }

  /** n (an int32) in exactly `width` decimal digits (leading zeros), n < 10^width. */
  private padded(n: number, width: number): void {
    const buf = this.buf;
    let v = n | 0;
    for (let i = width - 1; i >= 0; i--) {
      buf[this.at + i] = 0x30 + (v % 10);
      v = (v / 10) | 0;
    }
    this.at += width;
  }
}

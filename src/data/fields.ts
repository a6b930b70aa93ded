/**
 * Splitting one delimited line into fields, and parsing numbers and timestamps from them,
 * without allocating a string per field.
 *
 * A 20M-line ratings file is parsed field by field, so this is the hot loop of loading:
 * fields are kept as (text, start, end) spans into the chunk string the line reader hands
 * us; only ids become strings. Quoted CSV fields (rare in ratings files) take a slower path
 * that materialises the unquoted field text.
 */

/** Field spans of the current line: field k is text[k].slice(start[k], end[k]). */
export class Fields {
  count = 0;
  text: string[] = [];
  start = new Int32Array(16);
  end = new Int32Array(16);

  private push(text: string, a: number, b: number): void {
    if (this.count === this.start.length) {
      const s = new Int32Array(this.count * 2);
      s.set(this.start);
      this.start = s;
      const e = new Int32Array(this.count * 2);
      e.set(this.end);
      this.end = e;
    }
    // Trim ASCII spaces and tabs around a field ("1, 2, 3.5" is common in hand-made CSV).
    while (a < b && isBlank(text.charCodeAt(a))) a++;
    while (b > a && isBlank(text.charCodeAt(b - 1))) b--;
    this.text[this.count] = text;
    this.start[this.count] = a;
    this.end[this.count] = b;
    this.count++;
  }

  /**
   * Split text[lineStart, lineEnd) on `delim` (one or more characters, e.g. '\t' or '::').
   * With `quotes`, a field starting with '"' runs to the matching quote ('""' escapes one).
   * Returns false only for an unterminated quote.
   */
  split(text: string, lineStart: number, lineEnd: number, delim: string, quotes: boolean): boolean {
    this.count = 0;
    if (text !== this.cacheText || delim !== this.cacheDelim) {
      this.cacheText = text;
      this.cacheDelim = delim;
      this.nextDelim = -1;
      this.nextQuote = -1;
    }
    if (quotes && this.find('"', lineStart, true) < lineEnd)
      return this.splitQuoted(text, lineStart, lineEnd, delim);
    const dl = delim.length;
    let a = lineStart;
    for (;;) {
      const d = this.find(delim, a, false);
      if (d + dl > lineEnd) {
        this.push(text, a, lineEnd);
        return true;
      }
      this.push(text, a, d);
      a = d + dl;
    }
  }

  // Next occurrence at or after `from` in the cached chunk text (text length when none).
  // Positions are remembered: a line without a quote must not rescan the rest of a 4 MiB
  // chunk for one, and searches only move forward, so a chunk is scanned once per needle.
  private cacheText = '';
  private cacheDelim = '';
  private nextDelim = -1;
  private delimFrom = 0;
  private nextQuote = -1;
  private quoteFrom = 0;

  private find(needle: string, from: number, quote: boolean): number {
    let pos = quote ? this.nextQuote : this.nextDelim;
    const cachedFrom = quote ? this.quoteFrom : this.delimFrom;
    if (pos < from || from < cachedFrom) {
      pos = this.cacheText.indexOf(needle, from);
      if (pos === -1) pos = this.cacheText.length;
      if (quote) {
        this.nextQuote = pos;
        this.quoteFrom = from;
      } else {
        this.nextDelim = pos;
        this.delimFrom = from;
      }
    }
    return pos;
  }

  private splitQuoted(text: string, lineStart: number, lineEnd: number, delim: string): boolean {
    let i = lineStart;
    for (;;) {
      while (i < lineEnd && isBlank(text.charCodeAt(i)) && !text.startsWith(delim, i)) i++;
      if (i < lineEnd && text.charCodeAt(i) === 34 /* " */) {
        let value = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q === -1 || q >= lineEnd) return false;
          value += text.slice(j, q);
          if (q + 1 < lineEnd && text.charCodeAt(q + 1) === 34) {
            value += '"';
            j = q + 2;
          } else {
            j = q + 1;
            break;
          }
        }
        this.push(value, 0, value.length);
        const d = text.indexOf(delim, j);
        if (d === -1 || d + delim.length > lineEnd) return true; // anything after the quote is ignored
        i = d + delim.length;
      } else {
        const d = text.indexOf(delim, i);
        if (d === -1 || d + delim.length > lineEnd) {
          this.push(text, i, lineEnd);
          return true;
        }
        this.push(text, i, d);
        i = d + delim.length;
      }
    }
  }

  /** Field k as a string (already trimmed). */
  str(k: number): string {
    return this.text[k]!.slice(this.start[k]!, this.end[k]!);
  }

  isEmpty(k: number): boolean {
    return this.start[k] === this.end[k];
  }

  /**
   * Field k as an integer when it is written canonically (1–9 digits, no sign, no leading
   * zero), else −1. Such ids can be interned by value without making a string per row.
   */
  canonicalInt(k: number): number {
    const text = this.text[k]!;
    const a = this.start[k]!;
    const b = this.end[k]!;
    const len = b - a;
    if (len < 1 || len > 9) return -1;
    let c = text.charCodeAt(a) - 48;
    if (c < 0 || c > 9 || (c === 0 && len > 1)) return -1;
    let v = c;
    for (let i = a + 1; i < b; i++) {
      c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return -1;
      v = v * 10 + c;
    }
    return v;
  }

  /** Field k as a number; NaN when it is not a plain finite decimal number. */
  num(k: number): number {
    return parseNumber(this.text[k]!, this.start[k]!, this.end[k]!);
  }
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Parse text[a, b) as a finite number; NaN for anything else (empty, "abc", "NaN", "Infinity").
 *
 * Fast path: [-+]digits[.digits] with at most 15 significant digits, computed as an exact
 * integer divided by an exact power of ten — one correctly rounded IEEE division, so the
 * result equals Number()'s. Everything else (exponents, long mantissas) goes to Number().
 */
export function parseNumber(text: string, a: number, b: number): number {
  if (a >= b) return Number.NaN;
  let i = a;
  let neg = false;
  let c = text.charCodeAt(i);
  if (c === 45 /* - */ || c === 43 /* + */) {
    neg = c === 45;
    i++;
  }
  let mant = 0;
  let digits = 0;
  let frac = -1; // digits after the point, -1 while no point seen
  for (; i < b; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 /* . */ && frac < 0) {
      frac = 0;
    } else {
      return slowNumber(text, a, b);
    }
  }
  if (digits === 0) return Number.NaN;
  if (digits > 15) return slowNumber(text, a, b);
  const v = frac > 0 ? mant / POW10[frac]! : mant;
  return neg ? -v : v;
}

function slowNumber(text: string, a: number, b: number): number {
  const s = text.slice(a, b);
  // Number() accepts hex, binary and '' → 0; only decimal notation is data here.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number.NaN;
  const v = Number(s);
  return Number.isFinite(v) ? v : Number.NaN;
}

const ISO_NO_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const ISO_ZONED = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([zZ]|[-+]\d{2}:?\d{2}))?$/;

/**
 * A timestamp field → epoch milliseconds (NaN when unparseable).
 *
 * Numbers are epoch time whose unit is inferred from magnitude, per value:
 * |x| < 1e11 seconds (up to year 5138), < 1e14 milliseconds, < 1e17 microseconds, else
 * nanoseconds. `secondsOnly` skips the guess (MovieLens files are always in seconds).
 * Strings are ISO-8601; a date-time without a zone is taken as UTC, not local time, so a
 * load gives the same result on every machine.
 */
export function parseTimestamp(text: string, a: number, b: number, secondsOnly: boolean): number {
  const x = parseNumber(text, a, b);
  if (!Number.isNaN(x)) {
    if (secondsOnly) return Math.round(x * 1000);
    const ax = Math.abs(x);
    if (ax < 1e11) return Math.round(x * 1000);
    if (ax < 1e14) return Math.round(x);
    if (ax < 1e17) return Math.round(x / 1e3);
    return Math.round(x / 1e6);
  }
  if (secondsOnly) return Number.NaN;
  let s = text.slice(a, b);
  if (ISO_NO_ZONE.test(s)) s = `${s.replace(' ', 'T')}Z`;
  else if (!ISO_ZONED.test(s)) return Number.NaN;
  else s = s.replace(' ', 'T');
  return Date.parse(s);
}

/**
 * Encodes rows in PostgreSQL's COPY text format (tab-separated, \N for NULL, backslash escapes),
 * shared by both adapters so a bulk insert stores the same values on PGlite and PostgreSQL.
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */

/** One COPY field: the value's SQL text form, with COPY's own escapes applied. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return escapeCopy(sqlText(value));
}

/** Encodes rows into newline-terminated lines, yielding a chunk whenever ~chunkBytes are ready. */
export async function* copyChunks(
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  width: number,
  chunkBytes = 1 << 20,
): AsyncGenerator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for await (const row of rows) {
    if (row.length !== width) {
      throw new TypeError(`copyRows: a row has ${row.length} values but ${width} columns were named`);
    }
    // A loop of += rather than map/join: this runs per row of every bulk insert.
    let line = copyField(row[0]);
    for (let c = 1; c < width; c++) line += `\t${copyField(row[c])}`;
    line += '\n';
    parts.push(line);
    size += line.length;
    if (size >= chunkBytes) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield Buffer.from(parts.join(''), 'utf8');
}

/** `"schema"."table"` / `"column"` from plain names, so odd names cannot inject SQL. */
export function quoteIdent(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
}

export function copyTarget(table: string, columns: readonly string[]): string {
  if (columns.length === 0) throw new TypeError('copyRows: name at least one column');
  return `${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')})`;
}

// Only these four characters are special in COPY text format; most values have none, and a
// test is much cheaper than a replace that finds nothing.
const COPY_SPECIAL = /[\\\t\n\r]/;

function escapeCopy(text: string): string {
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** The value as PostgreSQL's text input would read it (before COPY escaping). */
function sqlText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array)
    return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return arrayText(value);
  return JSON.stringify(value);
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  return String(n);
}

const ARRAY_SPECIAL = /[\\"]/;

/**
 * Array literal: {"a","b c",NULL,{1,2},1.5}; elements quoted except NULL, nested arrays and
 * numbers (which never need it). Built with += for the same reason as the lines.
 */
function arrayText(items: readonly unknown[]): string {
  let s = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) s += ',';
    const item = items[i];
    if (item === null || item === undefined) s += 'NULL';
    else if (Array.isArray(item)) s += arrayText(item);
    else if (typeof item === 'number') s += numberText(item);
    else {
      const text = sqlText(item);
      s += ARRAY_SPECIAL.test(text) ? `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${text}"`;
    }
  }
  return `${s}}`;
}

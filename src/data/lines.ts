/**
 * Streaming a text file line by line in large chunks.
 *
 * readline's per-line events and async iteration cost more than the parsing itself on
 * 20M-line files; here a 4 MiB chunk is decoded once and the callback gets (text, start,
 * end) spans into it, so no per-line string is allocated unless the caller slices one.
 * Memory stays at one chunk plus whatever the caller keeps.
 */
import { open, stat } from 'node:fs/promises';
import { DataError } from './errors.js';

export type LineHandler = (text: string, start: number, end: number, lineNo: number) => void;

const CHUNK = 4 << 20;

/** Check that `file` exists and is a regular file; DataError otherwise. Returns its size. */
export async function statFile(file: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`;
    throw new DataError(file, undefined, why, { cause: err });
  }
  if (!info.isFile()) throw new DataError(file, undefined, 'not a regular file');
  return info.size;
}

/**
 * Call `onLine` for every line of `file` (1-based numbers; '\n' or '\r\n' endings; a BOM on
 * the first line is dropped). `onLine` may throw to stop; the file is closed either way.
 * `onChunk` hears the bytes read so far after each chunk's lines (for a progress bar).
 */
export async function forEachLine(
  file: string,
  onLine: LineHandler,
  opts: { encoding?: 'utf8' | 'latin1'; onChunk?: (bytesRead: number) => void } = {},
): Promise<number> {
  await statFile(file);
  const latin1 = opts.encoding === 'latin1';
  const decoder = new TextDecoder('utf-8');
  const fh = await open(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry = '';
  let lineNo = 0;
  let first = true;
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      const eof = bytesRead === 0;
      total += bytesRead;
      let text = eof
        ? carry + (latin1 ? '' : decoder.decode())
        : carry +
          (latin1
            ? buf.toString('latin1', 0, bytesRead)
            : decoder.decode(buf.subarray(0, bytesRead), { stream: true }));
      let start = 0;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) start = 1;
        first = false;
      }
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl === -1) break;
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        onLine(text, start, end, ++lineNo);
        start = nl + 1;
      }
      opts.onChunk?.(total);
      if (eof) {
        if (start < text.length) {
          const end = text.charCodeAt(text.length - 1) === 13 ? text.length - 1 : text.length;
          onLine(text, start, end, ++lineNo);
        }
        return lineNo;
      }
      // Copy the partial last line out so the chunk string can be collected.
      carry = start < text.length ? Buffer.from(text.slice(start), 'utf8').toString('utf8') : '';
      text = '';
    }
  } finally {
    await fh.close();
  }
}

/**
 * Cuts an object into upload parts of exactly `partSize` bytes (the last may be shorter).
 * minio's own putObject merges parts that are ready at once (its chunker is read with
 * for-await, which concatenates buffered chunks), so a 12 MiB buffer went up as one part;
 * cutting here keeps each request, and the memory held, at one part.
 */
import type { Readable } from 'node:stream';

export async function* cutParts(data: Buffer | Readable, partSize: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) {
    for (let i = 0; i < data.length; i += partSize) yield data.subarray(i, i + partSize);
    return;
  }
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of data) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    pending.push(buf);
    size += buf.length;
    while (size >= partSize) {
      const all = Buffer.concat(pending, size);
      yield all.subarray(0, partSize);
      pending = [all.subarray(partSize)];
      size -= partSize;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

// Cutting objects into upload parts: exact part sizes whatever the input's chunking.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { cutParts } from '../../src/stores/objects/parts.js';

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of gen) out.push(Buffer.from(p));
  return out;
}

test('cutParts yields partSize parts and a shorter last one, from a buffer or any stream chunking', async () => {
  const data = randomBytes(10_007);
  for (const chunk of [1, 333, 1000, 4096, 20_000]) {
    const pieces = [];
    for (let i = 0; i < data.length; i += chunk) pieces.push(data.subarray(i, i + chunk));
    for (const source of [data, Readable.from(pieces)]) {
      const parts = await collect(cutParts(source, 1000));
      assert.deepEqual(
        parts.map((p) => p.length),
        [...Array(10).fill(1000), 7],
      );
      assert.deepEqual(Buffer.concat(parts), data);
    }
  }
  assert.deepEqual(await collect(cutParts(Buffer.alloc(0), 1000)), []);
  assert.deepEqual(
    (await collect(cutParts(Readable.from([Buffer.alloc(2000)]), 1000))).map((p) => p.length),
    [1000, 1000],
  );
});

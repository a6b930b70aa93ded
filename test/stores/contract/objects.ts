// The object store contract, written once; each adapter's test file supplies a factory.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { NotFoundError, StoreClosedError, StoreError } from '../../../src/stores/errors.js';
import type { ObjectStore } from '../../../src/stores/objects/port.js';
import { uid } from '../support/wait.js';

export interface ObjectsHarness {
  objects: ObjectStore;
  cleanup(): Promise<void>;
  /** Adapter-specific checks on a large object just written (e.g. that it went up in parts). */
  checkLarge?(key: string, size: number): Promise<void>;
}

/** Large enough to need several parts when the harness sets a 5 MiB part size. */
export const LARGE_OBJECT_BYTES = 12 * 1024 * 1024 + 123;

export function objectsContract(name: string, create: () => Promise<ObjectsHarness>): void {
  describe(`object store contract: ${name}`, () => {
    let h: ObjectsHarness;
    let objects: ObjectStore;
    // Every key sits under a per-run prefix so runs against a shared bucket cannot collide.
    let k: (s: string) => string;
    before(async () => {
      h = await create();
      objects = h.objects;
      const run = uid('run-');
      k = (s) => `${run}/${s}`;
    });
    after(async () => h?.cleanup());

    test('put then get returns the same bytes; put again replaces them', async () => {
      const data = randomBytes(1000);
      await objects.put(k('models/v1/model.bin'), data);
      assert.deepEqual(await objects.get(k('models/v1/model.bin')), data);
      await objects.put(k('models/v1/model.bin'), Buffer.from('second'));
      assert.equal((await objects.get(k('models/v1/model.bin'))).toString(), 'second');
      await objects.put(k('empty'), Buffer.alloc(0));
      assert.equal((await objects.get(k('empty'))).length, 0);
    });

    test('put accepts a stream and a Uint8Array', async () => {
      await objects.put(k('stream.txt'), Readable.from([Buffer.from('a'), Buffer.from('bc')]));
      assert.equal((await objects.get(k('stream.txt'))).toString(), 'abc');
      await objects.put(k('u8'), new Uint8Array([1, 2, 3]));
      assert.deepEqual(await objects.get(k('u8')), Buffer.from([1, 2, 3]));
    });

    test('get of a missing key is NotFoundError; exists says false', async () => {
      await assert.rejects(
        objects.get(k('nope/none')),
        (err) => err instanceof NotFoundError && !err.retriable,
      );
      assert.equal(await objects.exists(k('nope/none')), false);
      await objects.put(k('here'), Buffer.from('x'));
      assert.equal(await objects.exists(k('here')), true);
    });

    test('list returns the keys under a prefix, sorted', async () => {
      const keys = [
        'l/models/v2/a.bin',
        'l/models/v1/b.bin',
        'l/models/v1/a.bin',
        'l/exports/x.csv',
        'l/modelsx',
      ];
      for (const key of keys) await objects.put(k(key), Buffer.from(key));
      assert.deepEqual(await objects.list(k('l/models/')), [
        k('l/models/v1/a.bin'),
        k('l/models/v1/b.bin'),
        k('l/models/v2/a.bin'),
      ]);
      assert.deepEqual(await objects.list(k('l/models/v1')), [
        k('l/models/v1/a.bin'),
        k('l/models/v1/b.bin'),
      ]);
      assert.deepEqual(await objects.list(k('l/model')), [
        k('l/models/v1/a.bin'),
        k('l/models/v1/b.bin'),
        k('l/models/v2/a.bin'),
        k('l/modelsx'),
      ]);
      assert.deepEqual(await objects.list(k('l/none/')), []);
      assert.deepEqual(await objects.list(k('l/')), keys.map(k).sort());
    });

    test('delete removes the object; deleting a missing key is fine', async () => {
      await objects.put(k('d/one'), Buffer.from('1'));
      await objects.put(k('d/two'), Buffer.from('2'));
      await objects.delete(k('d/one'));
      assert.equal(await objects.exists(k('d/one')), false);
      assert.deepEqual(await objects.list(k('d/')), [k('d/two')]);
      await objects.delete(k('d/one'));
      await objects.delete(k('d/never/was'));
    });

    test('keys that could escape or alias are refused on every adapter', async () => {
      for (const bad of [
        '',
        '../escape',
        'a/../../b',
        '/absolute',
        'a//b',
        'a/./b',
        'trailing/',
        'back\\slash',
      ]) {
        await assert.rejects(objects.put(bad, Buffer.from('x')), StoreError, `put ${JSON.stringify(bad)}`);
        await assert.rejects(objects.get(bad), StoreError, `get ${JSON.stringify(bad)}`);
      }
    });

    test('a large object round-trips intact (multipart upload where the adapter has one)', async () => {
      const data = randomBytes(LARGE_OBJECT_BYTES);
      const key = k('large/blob.bin');
      await objects.put(key, data);
      const back = await objects.get(key);
      assert.equal(back.length, data.length);
      assert.equal(sha(back), sha(data));
      await h.checkLarge?.(key, data.length);
      // From a stream of unknown length too.
      const streamed = k('large/streamed.bin');
      await objects.put(streamed, Readable.from(chunks(data, 1 << 20)));
      assert.equal(sha(await objects.get(streamed)), sha(data));
      await h.checkLarge?.(streamed, data.length);
      await objects.delete(key);
      await objects.delete(streamed);
    });

    test('calls after close() fail with StoreClosedError', async () => {
      const other = await create();
      await other.objects.close();
      await assert.rejects(other.objects.get('x'), StoreClosedError);
      await other.cleanup();
    });
  });
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function* chunks(b: Buffer, size: number) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

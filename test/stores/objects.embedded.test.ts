// Object store contract on a local folder (embedded mode), plus the folder-specific guarantees.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLocalObjects } from '../../src/stores/objects/local.js';
import { tempDir } from '../helpers.js';
import { objectsContract } from './contract/objects.js';

objectsContract('local folder', async () => {
  const tmp = tempDir('recsys-objects-');
  const objects = await openLocalObjects({ dir: tmp.dir });
  return {
    objects,
    async cleanup() {
      await objects.close();
      tmp.cleanup();
    },
  };
});

test('local folder: keys with "/" are subfolders, temp files are cleaned up, deletes prune empty folders', async () => {
  const tmp = tempDir('recsys-objects-');
  try {
    const objects = await openLocalObjects({ dir: tmp.dir });
    await objects.put('a/b/c.bin', Buffer.from('x'));
    assert.deepEqual(readdirSync(path.join(tmp.dir, 'a', 'b')), ['c.bin']);
    assert.deepEqual(readdirSync(path.join(tmp.dir, '.incoming')), []);
    await assert.rejects(objects.put('.incoming/x', Buffer.from('x')));
    await objects.delete('a/b/c.bin');
    assert.deepEqual(readdirSync(tmp.dir), ['.incoming']);
    assert.deepEqual(await objects.list(), []);
  } finally {
    tmp.cleanup();
  }
});

test('local folder: a failed stream leaves neither the object nor a temp file', async () => {
  const tmp = tempDir('recsys-objects-');
  try {
    const objects = await openLocalObjects({ dir: tmp.dir });
    await objects.put('keep', Buffer.from('old'));
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('source broke');
    }
    const { Readable } = await import('node:stream');
    await assert.rejects(objects.put('keep', Readable.from(failing())), /source broke/);
    assert.equal((await objects.get('keep')).toString(), 'old');
    assert.deepEqual(readdirSync(path.join(tmp.dir, '.incoming')), []);
  } finally {
    tmp.cleanup();
  }
});

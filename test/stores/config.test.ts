// Configuration: sources and precedence, and one clear error listing every problem.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers.js';

const services = {
  RECSYS_MODE: 'services',
  DATABASE_URL: 'postgres://recsys:recsys@127.0.0.1:5432/recsys',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.2:9092',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_ACCESS_KEY: 'recsys',
  S3_SECRET_KEY: 'recsys-secret',
  S3_BUCKET: 'recsys',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults to embedded mode with ./data resolved against the working directory', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/app' });
    assert.equal(c.mode, 'embedded');
    assert.equal(c.dataDir, '/srv/app/data');
    assert.equal(c.databaseUrl, null);
    assert.equal(c.busPartitions, 8);
    assert.equal(c.connectTimeoutMs, 5000);
  });

  test('embedded mode ignores service URLs that happen to be set', () => {
    const c = loadConfig({ env: { ...services, RECSYS_MODE: 'embedded' } });
    assert.equal(c.mode, 'embedded');
    assert.equal(c.redisUrl, null);
  });

  test('services mode reads every server from the environment', () => {
    const c = loadConfig({ env: services });
    assert.equal(c.mode, 'services');
    assert.equal(c.databaseUrl, services.DATABASE_URL);
    assert.equal(c.redisUrl, services.REDIS_URL);
    assert.deepEqual(c.kafkaBrokers, ['127.0.0.1:9092', '127.0.0.2:9092']);
    assert.deepEqual(c.s3, {
      endpoint: 'http://127.0.0.1:9000',
      accessKey: 'recsys',
      secretKey: 'recsys-secret',
      bucket: 'recsys',
    });
  });

  test('services mode without servers lists every missing setting at once', () => {
    const problems = problemsOf(() => loadConfig({ env: { RECSYS_MODE: 'services' } }));
    for (const name of [
      'DATABASE_URL',
      'REDIS_URL',
      'KAFKA_BROKERS',
      'S3_ENDPOINT',
      'S3_ACCESS_KEY',
      'S3_SECRET_KEY',
      'S3_BUCKET',
    ]) {
      assert.ok(
        problems.some((p) => p.includes(name)),
        `mentions ${name}: ${problems.join(' | ')}`,
      );
    }
  });

  test('malformed values are named with what was expected and found', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          ...services,
          DATABASE_URL: 'mysql://x@h/db',
          REDIS_URL: 'not a url',
          KAFKA_BROKERS: 'localhost',
          S3_BUCKET: 'Bad_Bucket',
          RECSYS_BUS_PARTITIONS: '0',
        },
      }),
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(
      problems.join('\n'),
      /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/, got mysql:/,
    );
    assert.match(problems.join('\n'), /REDIS_URL is not a URL/);
    assert.match(problems.join('\n'), /KAFKA_BROKERS entry "localhost" is not host:port/);
    assert.match(problems.join('\n'), /S3_BUCKET/);
    assert.match(problems.join('\n'), /RECSYS_BUS_PARTITIONS must be an integer from 1/);
    assert.throws(
      () => loadConfig({ env: { RECSYS_MODE: 'servics' } }),
      /RECSYS_MODE must be "embedded" or "services", got "servics"/,
    );
  });

  test('readiness requirements: all four by default, a chosen subset, unknown names refused', () => {
    const base = { RECSYS_MODE: 'embedded' };
    assert.deepEqual(loadConfig({ env: base }).serving.readyRequires, ['db', 'cache', 'bus', 'model']);
    assert.deepEqual(
      loadConfig({ env: { ...base, RECSYS_READY_REQUIRES: ' model, db ' } }).serving.readyRequires,
      ['db', 'model'],
    );
    const problems = problemsOf(() => loadConfig({ env: { ...base, RECSYS_READY_REQUIRES: 'db,redis' } }));
    assert.match(problems.join('\n'), /RECSYS_READY_REQUIRES lists "redis"; allowed: db, cache, bus, model/);
  });

  test('a JSON file is the lowest layer: environment beats it, overrides (CLI flags) beat both', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'recsys.json');
      writeFileSync(
        file,
        JSON.stringify({
          mode: 'services',
          dataDir: '/from/file',
          databaseUrl: 'postgres://file@db:5432/x',
          redisUrl: 'redis://file:6379',
          kafkaBrokers: ['k1:9092'],
          s3: { endpoint: 'http://s3:9000', accessKey: 'a', secretKey: 'b', bucket: 'file-bucket' },
          busPartitions: 3,
        }),
      );
      const c = loadConfig({
        env: { RECSYS_CONFIG: file, REDIS_URL: 'redis://env:6379', RECSYS_DATA_DIR: '/from/env' },
        overrides: { dataDir: '/from/flag' },
      });
      assert.equal(c.databaseUrl, 'postgres://file@db:5432/x');
      assert.equal(c.redisUrl, 'redis://env:6379');
      assert.equal(c.dataDir, '/from/flag');
      assert.deepEqual(c.kafkaBrokers, ['k1:9092']);
      assert.equal(c.s3?.bucket, 'file-bucket');
      assert.equal(c.busPartitions, 3);
    } finally {
      tmp.cleanup();
    }
  });

  test('a config file with a typo or bad JSON is refused with the file name', () => {
    const tmp = tempDir();
    try {
      const typo = path.join(tmp.dir, 'typo.json');
      writeFileSync(typo, JSON.stringify({ databseUrl: 'postgres://x' }));
      const problems = problemsOf(() => loadConfig({ env: {}, configFile: typo }));
      assert.match(problems[0]!, /typo\.json: unknown key "databseUrl"/);
      const broken = path.join(tmp.dir, 'broken.json');
      writeFileSync(broken, '{ "mode": ');
      assert.match(problemsOf(() => loadConfig({ env: {}, configFile: broken }))[0]!, /broken\.json/);
      assert.match(
        problemsOf(() => loadConfig({ env: {}, configFile: path.join(tmp.dir, 'missing.json') }))[0]!,
        /missing\.json/,
      );
    } finally {
      tmp.cleanup();
    }
  });
});

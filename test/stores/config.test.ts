// Configuration: one schema; sources and precedence; one clear error listing every problem;
// the README's table generated from the schema.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, envSetting, loadConfig, SCHEMA } from '../../src/config/index.js';
import { configTable, withConfigTable } from '../../src/config/readme-table.js';
import { flatten } from '../../src/config/setting.js';
import { DEFAULT_EVENT_WEIGHTS } from '../../src/events/types.js';
import { repoRoot, tempDir } from '../helpers.js';

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

/** Loads with `json` as the config file (and `env`), in a temporary folder. */
function withFile<T>(json: unknown, fn: (file: string) => T): T {
  const tmp = tempDir();
  try {
    const file = path.join(tmp.dir, 'recsys.json');
    writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
    return fn(file);
  } finally {
    tmp.cleanup();
  }
}

describe('loadConfig', () => {
  test('defaults: embedded mode, ./data resolved against the working directory, every default', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/app' });
    assert.equal(c.mode, 'embedded');
    assert.equal(c.dataDir, '/srv/app/data');
    assert.equal(c.databaseUrl, null);
    assert.equal(c.redisUrl, null);
    assert.deepEqual(c.kafkaBrokers, []);
    assert.equal(c.s3, null);
    assert.equal(c.connectTimeoutMs, 5000);
    assert.deepEqual(c.bus, { topic: 'interactions', partitions: 8, maxAttempts: 5, retentionHours: 168 });
    assert.deepEqual(c.events.weights, DEFAULT_EVENT_WEIGHTS);
    assert.equal(c.serving.rateLimit, 1000);
    assert.equal(c.serving.rateBurst, 2000);
    assert.equal(c.serving.publicReads, true);
    assert.deepEqual(c.serving.apiKeys, []);
    assert.deepEqual(c.compute, { backend: null, wasm: null, nativeAddon: null });
    assert.equal(c.logLevel, 'info');
    assert.equal(c.debug, false);
  });

  test('embedded mode ignores service URLs that happen to be set, even malformed ones', () => {
    const c = loadConfig({ env: { ...services, RECSYS_MODE: 'embedded', DATABASE_URL: 'mysql://x' } });
    assert.equal(c.mode, 'embedded');
    assert.equal(c.redisUrl, null);
    assert.equal(c.databaseUrl, null);
    assert.equal(c.s3, null);
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
    const names = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_ACCESS_KEY'];
    names.push('S3_SECRET_KEY', 'S3_BUCKET');
    assert.equal(problems.length, names.length, problems.join('\n'));
    for (const name of names) {
      assert.ok(
        problems.some((p) => p.startsWith(`services mode needs ${name}`)),
        `mentions ${name}: ${problems.join(' | ')}`,
      );
    }
    assert.match(problems.join('\n'), /services mode needs KAFKA_BROKERS \(host:port entries/);
  });

  test('malformed values are named with what was expected and found', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          ...services,
          DATABASE_URL: 'mysql://x@h/db',
          REDIS_URL: 'not a url',
          KAFKA_BROKERS: 'localhost,k2:99999,k3:9092',
          S3_BUCKET: 'Bad_Bucket',
          RECSYS_BUS_PARTITIONS: '0',
        },
      }),
    );
    const all = problems.join('\n');
    assert.equal(problems.length, 5, all);
    assert.match(
      all,
      /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL, got "mysql:\/\/x@h\/db" \(it starts with mysql:\/\/\)/,
    );
    assert.match(all, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL, got "not a url" \(not a URL\)/);
    assert.match(all, /KAFKA_BROKERS must be host:port entries.*"localhost", "k2:99999" is not host:port/);
    assert.match(all, /S3_BUCKET must be 3-63 lower-case letters, digits, dots or hyphens, got "Bad_Bucket"/);
    assert.match(all, /RECSYS_BUS_PARTITIONS must be an integer from 1 to 1024, got "0"/);
    assert.throws(
      () => loadConfig({ env: { RECSYS_MODE: 'servics' } }),
      /RECSYS_MODE must be "embedded" or "services", got "servics"/,
    );
  });

  test('every problem is listed together, one per setting', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          RECSYS_RATE_LIMIT: 'fast',
          RECSYS_PUBLIC_READS: 'maybe',
          RECSYS_L0_SIZE: '1.5',
          RECSYS_BUS_RETENTION_HOURS: '0',
          RECSYS_BUS_MAX_ATTEMPTS: '1001',
          RECSYS_LOG_LEVEL: 'loud',
          RECSYS_BACKEND: 'gpu',
        },
      }),
    );
    const all = problems.join('\n');
    assert.equal(problems.length, 7, all);
    assert.match(all, /RECSYS_RATE_LIMIT must be a number from 0 to 1000000000, got "fast"/);
    assert.match(all, /RECSYS_PUBLIC_READS must be true or false, got "maybe"/);
    assert.match(all, /RECSYS_L0_SIZE must be an integer from 0 to 100000000, got "1.5"/);
    assert.match(all, /RECSYS_BUS_RETENTION_HOURS must be a number above 0 up to 8760, got "0"/);
    assert.match(all, /RECSYS_BUS_MAX_ATTEMPTS must be an integer from 1 to 1000, got "1001"/);
    assert.match(all, /RECSYS_LOG_LEVEL must be "fatal" or .* or "silent", got "loud"/);
    assert.match(all, /RECSYS_BACKEND must be "native" or "wasm" or "js", got "gpu"/);
  });

  test('readiness requirements: all four by default, a chosen subset in canonical order, unknown names refused', () => {
    const base = { RECSYS_MODE: 'embedded' };
    assert.deepEqual(loadConfig({ env: base }).serving.readyRequires, ['db', 'cache', 'bus', 'model']);
    assert.deepEqual(
      loadConfig({ env: { ...base, RECSYS_READY_REQUIRES: ' model, db ' } }).serving.readyRequires,
      ['db', 'model'],
    );
    const problems = problemsOf(() => loadConfig({ env: { ...base, RECSYS_READY_REQUIRES: 'db,redis' } }));
    assert.match(
      problems.join('\n'),
      /RECSYS_READY_REQUIRES must be a comma-separated list of db, cache, bus, model, got "db,redis"/,
    );
  });

  test('the burst defaults to twice the rate, at least 1; set, it wins', () => {
    assert.equal(loadConfig({ env: { RECSYS_RATE_LIMIT: '50' } }).serving.rateBurst, 100);
    assert.equal(loadConfig({ env: { RECSYS_RATE_LIMIT: '0' } }).serving.rateBurst, 1);
    assert.equal(
      loadConfig({ env: { RECSYS_RATE_LIMIT: '50', RECSYS_RATE_BURST: '7' } }).serving.rateBurst,
      7,
    );
    // A wrong rate is one problem, not two.
    assert.equal(problemsOf(() => loadConfig({ env: { RECSYS_RATE_LIMIT: '-1' } })).length, 1);
  });

  test('lists and flags: comma-separated in the environment, arrays or strings in the file', () => {
    const c = loadConfig({
      env: { RECSYS_API_KEYS: ' a, b ,,c ', RECSYS_PUBLIC_READS: 'off', RECSYS_DEBUG: 'yes' },
    });
    assert.deepEqual(c.serving.apiKeys, ['a', 'b', 'c']);
    assert.equal(c.serving.publicReads, false);
    assert.equal(c.debug, true);
    const f = withFile({ serving: { corsOrigins: 'https://a.example, *', apiKeys: ['k1', 'k2'] } }, (file) =>
      loadConfig({ env: {}, configFile: file }),
    );
    assert.deepEqual(f.serving.corsOrigins, ['https://a.example', '*']);
    assert.deepEqual(f.serving.apiKeys, ['k1', 'k2']);
  });

  test('precedence: overrides (CLI flags) beat the environment, which beats the JSON file, which beats defaults', () => {
    withFile(
      {
        mode: 'services',
        dataDir: '/from/file',
        databaseUrl: 'postgres://file@db:5432/x',
        redisUrl: 'redis://file:6379',
        kafkaBrokers: ['k1:9092'],
        s3: { endpoint: 'http://s3:9000', accessKey: 'a', secretKey: 'b', bucket: 'file-bucket' },
        bus: { partitions: 3, maxAttempts: 9 },
        serving: { rateLimit: 10, l0Size: 5 },
      },
      (file) => {
        const c = loadConfig({
          env: {
            RECSYS_CONFIG: file,
            REDIS_URL: 'redis://env:6379',
            RECSYS_DATA_DIR: '/from/env',
            RECSYS_BUS_MAX_ATTEMPTS: '2',
            RECSYS_RATE_LIMIT: '20',
            RECSYS_L0_SIZE: '', // blank counts as unset
          },
          overrides: { dataDir: '/from/flag', serving: { rateLimit: 30 } },
        });
        assert.equal(c.mode, 'services');
        assert.equal(c.databaseUrl, 'postgres://file@db:5432/x');
        assert.equal(c.redisUrl, 'redis://env:6379');
        assert.equal(c.dataDir, '/from/flag');
        assert.deepEqual(c.kafkaBrokers, ['k1:9092']);
        assert.equal(c.s3?.bucket, 'file-bucket');
        assert.equal(c.bus.partitions, 3);
        assert.equal(c.bus.maxAttempts, 2);
        assert.equal(c.bus.retentionHours, 168);
        assert.equal(c.serving.rateLimit, 30);
        assert.equal(c.serving.rateBurst, 60);
        assert.equal(c.serving.l0Size, 5);
      },
    );
  });

  test('--config names the file in place of RECSYS_CONFIG', () => {
    withFile({ logLevel: 'warn' }, (file) => {
      const c = loadConfig({ env: { RECSYS_CONFIG: '/nonexistent.json' }, configFile: file });
      assert.equal(c.logLevel, 'warn');
    });
  });

  test('wrong types in the JSON file are ConfigErrors naming key, variable, expected and found', () => {
    const problems = withFile(
      {
        bus: { partitions: 'eight' },
        serving: { publicReads: 'maybe', rateLimit: '5', apiKeys: 7 },
        s3: [],
        events: { weights: 'view=1' },
        mode: 3,
      },
      (file) => problemsOf(() => loadConfig({ env: {}, configFile: file })),
    );
    const all = problems.join('\n');
    assert.equal(problems.length, 7, all);
    assert.match(
      all,
      /recsys\.json: "bus\.partitions" \(RECSYS_BUS_PARTITIONS\) must be an integer from 1 to 1024, got "eight"/,
    );
    assert.match(all, /"serving\.publicReads" \(RECSYS_PUBLIC_READS\) must be true or false, got "maybe"/);
    assert.match(all, /"serving\.rateLimit" \(RECSYS_RATE_LIMIT\) must be a number .*, got "5"/);
    assert.match(all, /"serving\.apiKeys" \(RECSYS_API_KEYS\) must be a comma-separated list .*, got 7/);
    assert.match(all, /recsys\.json: "s3" must be an object, got \[\]/);
    assert.match(all, /"events\.weights" \(RECSYS_EVENT_WEIGHTS\) must be type=weight pairs/);
    assert.match(all, /"mode" \(RECSYS_MODE\) must be "embedded" or "services", got 3/);
    // A group of the wrong type, alone.
    const serving = withFile({ serving: 3 }, (file) =>
      problemsOf(() => loadConfig({ env: {}, configFile: file })),
    );
    assert.deepEqual(serving.length, 1);
    assert.match(serving[0]!, /"serving" must be an object, got 3/);
  });

  test('unknown keys, at any depth, are problems; a renamed key says its new name', () => {
    const problems = withFile(
      { databseUrl: 'postgres://x', serving: { rateLimits: 5 }, bus: { partition: 2 }, busPartitions: 8 },
      (file) => problemsOf(() => loadConfig({ env: {}, configFile: file })),
    );
    const all = problems.join('\n');
    assert.equal(problems.length, 4, all);
    assert.match(all, /recsys\.json: unknown key "databseUrl" \(known: mode, dataDir, databaseUrl/);
    assert.match(all, /unknown key "serving\.rateLimits" \(known: apiKeys, publicReads, rateLimit/);
    assert.match(
      all,
      /unknown key "bus\.partition" \(known: topic, partitions, maxAttempts, retentionHours\)/,
    );
    assert.match(all, /unknown key "busPartitions" \(now "bus\.partitions"\)/);
    const overrides = problemsOf(() =>
      loadConfig({ env: {}, overrides: { dataDir: '/x', nope: 1 } as unknown as never }),
    );
    assert.match(overrides.join('\n'), /overrides: unknown key "nope"/);
  });

  test('a config file that is not JSON, not an object or missing is refused with its name', () => {
    assert.match(
      withFile('{ "mode": ', (f) => problemsOf(() => loadConfig({ env: {}, configFile: f })))[0]!,
      /recsys\.json/,
    );
    assert.match(
      withFile('[1]', (f) => problemsOf(() => loadConfig({ env: {}, configFile: f })))[0]!,
      /recsys\.json: must hold a JSON object/,
    );
    assert.match(
      problemsOf(() => loadConfig({ env: {}, configFile: '/nonexistent/missing.json' }))[0]!,
      /missing\.json/,
    );
  });

  describe('event weights', () => {
    test('from the environment: type=weight pairs over the defaults', () => {
      const c = loadConfig({ env: { RECSYS_EVENT_WEIGHTS: 'view=0.5, dismiss=-3,purchase=10' } });
      assert.deepEqual(c.events.weights, { ...DEFAULT_EVENT_WEIGHTS, view: 0.5, dismiss: -3, purchase: 10 });
      assert.ok(Object.isFrozen(c.events.weights));
    });

    test('from the file: an object over the defaults; the environment wins over it', () => {
      withFile({ events: { weights: { click: 3, rating: 0 } } }, (file) => {
        const c = loadConfig({ env: {}, configFile: file });
        assert.deepEqual(c.events.weights, { ...DEFAULT_EVENT_WEIGHTS, click: 3, rating: 0 });
        const e = loadConfig({ env: { RECSYS_EVENT_WEIGHTS: 'view=2' }, configFile: file });
        assert.deepEqual(e.events.weights, { ...DEFAULT_EVENT_WEIGHTS, view: 2 });
      });
    });

    test('an unknown type, a weight that is not a finite number, or a pair without = are refused', () => {
      for (const bad of ['like=1', 'view=heavy', 'view=Infinity', 'view', 'view=']) {
        const problems = problemsOf(() => loadConfig({ env: { RECSYS_EVENT_WEIGHTS: bad } }));
        assert.equal(problems.length, 1, `${bad}: ${problems.join('\n')}`);
        assert.match(
          problems[0]!,
          new RegExp(
            `^RECSYS_EVENT_WEIGHTS must be type=weight pairs, comma-separated, with types from view, click, add_to_cart, purchase, rating, dismiss and finite numbers, got "${bad}"`,
          ),
        );
      }
      const file = withFile({ events: { weights: { like: 1, view: 'x' } } }, (f) =>
        problemsOf(() => loadConfig({ env: {}, configFile: f })),
      );
      assert.equal(file.length, 1, file.join('\n'));
      assert.match(
        file[0]!,
        /"events\.weights" \(RECSYS_EVENT_WEIGHTS\) must be .*, got \{"like":1,"view":"x"\}/,
      );
    });
  });

  test('envSetting reads one setting from the environment, falling back to its default', () => {
    assert.equal(envSetting('logLevel', { RECSYS_LOG_LEVEL: 'debug' }), 'debug');
    assert.equal(envSetting('logLevel', { RECSYS_LOG_LEVEL: 'loud' }), 'info');
    assert.equal(envSetting('logLevel', {}), 'info');
    assert.equal(envSetting('debug', { RECSYS_DEBUG: '1' }), true);
  });
});

describe('the schema', () => {
  const settings = flatten(SCHEMA);

  test('every setting has its own environment name and a description', () => {
    const names = settings.map((s) => s.setting.env);
    assert.equal(new Set(names).size, names.length, 'environment names are unique');
    for (const { key, setting } of settings) assert.ok(setting.description.length > 0, key);
  });

  test("README.md's configuration table is the one generated from the schema (npm run docs:config)", () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.equal(withConfigTable(readme), readme, 'README.md is out of date: run `npm run docs:config`');
    const table = configTable();
    for (const { key, setting } of settings) assert.ok(table.includes(`| \`${setting.env}\` | \`${key}\` |`));
  });

  test('only src/config reads the environment (src/ and workers/)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts') && readFileSync(file, 'utf8').includes('process.env'))
          offenders.push(path.relative(repoRoot, file));
      }
    };
    walk(path.join(repoRoot, 'src'));
    walk(path.join(repoRoot, 'workers'));
    assert.deepEqual(
      offenders.filter((f) => !f.startsWith(`src${path.sep}config${path.sep}`)),
      [],
    );
  });
});

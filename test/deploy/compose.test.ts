// docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file against
// the Compose Specification's JSON schema (vendor/compose-spec), the recsys services' environment
// against the config schema (and loaded by it), their commands against the CLI, their health checks
// and Prometheus's targets against the ports they listen on, and the Dockerfile's stages against
// what the runtime reads: its last stage's files, laid out as the image would hold them, run
// `recsys` (migrations, native addon, wasm, CLI).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { schedulerCommand } from '../../src/cli/scheduler.js';
import { serveCommand } from '../../src/cli/serve.js';
import { streamCommand } from '../../src/cli/stream.js';
import { CONFIG_FILE_ENV, loadConfig, SCHEMA } from '../../src/config/index.js';
import { flatten } from '../../src/config/setting.js';
import { repoRoot, tempDir } from '../helpers.js';

const run = promisify(execFile);
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

// ---- the compose file ----------------------------------------------------------------------------

interface Healthcheck {
  test?: string[] | string;
}
interface Service {
  build?: { context: string; dockerfile?: string } | string;
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
  ports?: string[];
  profiles?: string[];
  extra_hosts?: string[];
}
interface Compose {
  services: Record<string, Service>;
}

const COMPOSE_FILE = 'docker-compose.yml';
const SPEC_FILE = 'vendor/compose-spec/compose-spec.json';
const loadCompose = (text = read(COMPOSE_FILE)) => parse(text) as Compose;

const Ajv2020 = Ajv2020Module as unknown as typeof Ajv2020Module.default;
const validateCompose = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTypes: false }).compile(
  JSON.parse(read(SPEC_FILE)),
);
function specErrors(doc: unknown): string[] {
  return validateCompose(doc)
    ? []
    : (validateCompose.errors ?? []).map(
        (e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
      );
}

/** `${NAME:-default}` / `${NAME-default}` as compose reads them with NAME unset; `$$` is a `$`. */
function interpolateUnset(value: string, where: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (m, name, dflt) => {
    if (m === '$$') return '$';
    assert.notEqual(
      dflt,
      undefined,
      `${where}: \${${name}} has no default, so it is empty unless the shell sets it`,
    );
    return dflt as string;
  });
}

function environmentOf(name: string, s: Service): Record<string, string> {
  assert.ok(
    s.environment && !Array.isArray(s.environment),
    `${name}: environment should be a mapping (NAME: value)`,
  );
  return Object.fromEntries(
    Object.entries(s.environment).map(([k, v]) => [k, interpolateUnset(String(v ?? ''), `${name}.${k}`)]),
  );
}

const isRecsys = (s: Service) => s.image === 'recsys:local' || s.build !== undefined;
const ROLES: Record<string, () => Command> = {
  serve: serveCommand,
  stream: streamCommand,
  scheduler: schedulerCommand,
};
/** Every environment name recsys reads: the config schema's, and the config file's. */
const KNOWN_ENV = new Set([...flatten(SCHEMA).map((f) => f.setting.env), CONFIG_FILE_ENV]);

function commandOf(name: string, s: Service): string[] {
  assert.ok(Array.isArray(s.command), `${name}: command should be a list`);
  return s.command;
}

/** A role's command parsed by its CLI definition, as `recsys <role> ...` would parse it. */
function parseRole(name: string, s: Service): Record<string, unknown> {
  const [role, ...args] = commandOf(name, s);
  const make = ROLES[role!];
  assert.ok(make, `${name}: "${role}" is not one of the long-running roles ${Object.keys(ROLES).join(', ')}`);
  const cmd = make();
  const { operands, unknown } = cmd.parseOptions(args);
  assert.deepEqual([operands, unknown], [[], []], `${name}: recsys ${role} does not take ${args.join(' ')}`);
  return cmd.opts();
}

const hostOf = (address: string) => new URL(address.includes('://') ? address : `tcp://${address}`).hostname;

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const services = compose.services;
  const recsys = Object.entries(services).filter(([, s]) => isRecsys(s));

  it('is valid against the Compose Specification schema', () => {
    assert.deepEqual(specErrors(compose), []);
  });

  it('is rejected by the same check when broken', () => {
    const broken = (edit: (c: Compose & Record<string, unknown>) => void) => {
      const c = loadCompose() as Compose & Record<string, unknown>;
      edit(c);
      return specErrors(c);
    };
    assert.match(
      broken((c) => {
        (c.services.serve as Record<string, unknown>).helthcheck = c.services.serve!.healthcheck;
      }).join('\n'),
      /additional properties.*helthcheck/,
    );
    assert.match(
      broken((c) => {
        c.services.stream!.depends_on = { postgres: { condition: 'service_happy' } };
      }).join('\n'),
      /depends_on\/postgres\/condition must be equal to one of the allowed values/,
    );
    assert.match(
      broken((c) => {
        (c.services.serve as Record<string, unknown>).ports = 8080;
      }).join('\n'),
      /\/services\/serve\/ports must be array/,
    );
    assert.match(
      broken((c) => {
        c.services = { ...c.services, 'bad name!': { image: 'x' } };
      }).join('\n'),
      /\/services must NOT have additional properties/,
    );
    // A `<<` merge key is not YAML 1.2: it would reach compose as a key of the service.
    const merged = loadCompose(
      read(COMPOSE_FILE).replace(/\n {2}scheduler:\n/, '\n  scheduler:\n    <<: *recsys-build\n'),
    );
    assert.match(specErrors(merged).join('\n'), /\/services\/scheduler must NOT have additional properties/);
  });

  it('runs the roles serve, stream and scheduler (and the demo loader) from the Dockerfile', () => {
    assert.deepEqual(recsys.map(([n]) => n).sort(), ['demo', 'scheduler', 'serve', 'stream']);
    for (const [name, s] of recsys) {
      assert.deepEqual(s.build, { context: '.', dockerfile: 'Dockerfile' }, `${name}: build`);
      assert.equal(s.image, 'recsys:local', `${name}: one image for every role`);
      if (name !== 'demo') assert.equal(commandOf(name, s)[0], name, `${name}: runs recsys ${name}`);
    }
    assert.deepEqual(services.demo!.profiles, ['demo'], 'the demo loader runs only when asked for');
    const demo = commandOf('demo', services.demo!).join(' ');
    for (const step of ['demo-data', 'import movielens', 'batch run']) assert.ok(demo.includes(step), step);
    for (const [name, s] of recsys) if (name !== 'demo') parseRole(name, s);
  });

  it('configures recsys only through settings of the config schema, and they load', () => {
    for (const [name, s] of recsys) {
      const env = environmentOf(name, s);
      const unknown = Object.keys(env).filter((k) => !KNOWN_ENV.has(k));
      assert.deepEqual(unknown, [], `${name}: not in src/config/schema.ts`);
      assert.equal(env.RECSYS_MODE, 'services', `${name}: RECSYS_MODE`);
      // Loaded exactly as the container would, with an empty shell: no problem to report.
      const config = loadConfig({ env });
      assert.equal(config.mode, 'services');
    }
  });

  it('points recsys at the compose servers, with their credentials, and waits for them', () => {
    const postgres = services.postgres!.environment as Record<string, string>;
    const minio = services.minio!.environment as Record<string, string>;
    const kafka = services.kafka!.environment as Record<string, string>;
    for (const [name, s] of recsys) {
      const env = environmentOf(name, s);
      const db = new URL(env.DATABASE_URL!);
      assert.deepEqual(
        [db.hostname, db.port, db.username, db.password, db.pathname],
        ['postgres', '5432', postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, `/${postgres.POSTGRES_DB}`],
        `${name}: DATABASE_URL`,
      );
      // The broker address other containers use: kafka's INTERNAL listener.
      assert.ok(
        kafka.KAFKA_ADVERTISED_LISTENERS!.split(',').includes(`INTERNAL://${env.KAFKA_BROKERS}`),
        `${name}: KAFKA_BROKERS ${env.KAFKA_BROKERS} is not kafka's INTERNAL listener`,
      );
      assert.equal(env.S3_ACCESS_KEY, interpolateUnset(minio.MINIO_ROOT_USER!, 'minio'));
      assert.equal(env.S3_SECRET_KEY, interpolateUnset(minio.MINIO_ROOT_PASSWORD!, 'minio'));
      const minioInit = environmentOf('minio-init', services['minio-init']!);
      assert.equal(env.S3_BUCKET, minioInit.S3_BUCKET, `${name}: the bucket minio-init makes`);

      const deps = s.depends_on as Record<string, { condition: string }>;
      const servers = [env.DATABASE_URL, env.REDIS_URL, env.S3_ENDPOINT, ...env.KAFKA_BROKERS!.split(',')];
      for (const address of servers) {
        const host = hostOf(address!);
        assert.ok(services[host], `${name}: ${address} is no compose service`);
        if (host !== 'minio') {
          assert.ok(services[host]!.healthcheck, `${host} has no health check to wait for`);
          assert.equal(
            deps[host]?.condition,
            'service_healthy',
            `${name} should wait for ${host} to be healthy`,
          );
        }
      }
      assert.equal(deps['minio-init']?.condition, 'service_completed_successfully', `${name}: the bucket`);
    }
  });

  it('runs a Spark master and worker for the Spark engine only with the spark profile', () => {
    for (const name of ['spark-master', 'spark-worker'])
      assert.deepEqual(services[name]?.profiles, ['spark'], `${name} runs only when asked for`);
    assert.equal(services['spark-worker']!.image, services['spark-master']!.image);
    const worker = commandOf('spark-worker', services['spark-worker']!);
    assert.equal(worker.at(-1), 'spark://spark-master:7077');
    assert.ok(services['spark-master']!.ports?.includes('127.0.0.1:7077:7077'));
  });

  it('checks /readyz on the port each server listens on, on every address', () => {
    for (const name of ['serve', 'stream']) {
      const s = services[name]!;
      const opts = parseRole(name, s);
      assert.equal(opts.host, '0.0.0.0', `${name}: reachable from other containers`);
      const test = s.healthcheck?.test;
      assert.ok(Array.isArray(test) && test[0] === 'CMD', `${name}: a CMD health check`);
      assert.ok(
        test.join(' ').includes(`http://127.0.0.1:${opts.port}/readyz`),
        `${name}: health check ${test.join(' ')} is not /readyz on port ${opts.port}`,
      );
    }
    assert.equal(parseRole('stream', services.stream!).port, SCHEMA.speed.port.default, 'RECSYS_STREAM_PORT');
    // Published on the host as a range, so that `--scale serve=N` gives each replica a port.
    const port = parseRole('serve', services.serve!).port;
    assert.match(services.serve!.ports?.[0] ?? '', new RegExp(`^127\\.0\\.0\\.1:\\d+-\\d+:${port}$`));
  });

  it('has Prometheus scrape every serve and stream container, and the processes on the host', () => {
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: Array<{
        job_name: string;
        static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
        dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
        relabel_configs?: Array<{ source_labels?: string[]; regex?: string; target_label?: string }>;
      }>;
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'recsys');
    assert.ok(job, 'no job "recsys" (the dashboard selects job="recsys")');
    const found = (job.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => [n, d.type, d.port]));
    assert.deepEqual(found, [
      ['serve', 'A', parseRole('serve', services.serve!).port],
      ['stream', 'A', parseRole('stream', services.stream!).port],
    ]);
    // Each compose target takes its role from the name it was found by.
    const relabel = job.relabel_configs?.find((r) => r.target_label === 'role');
    assert.deepEqual(relabel?.source_labels, ['__meta_dns_name']);
    for (const role of ['serve', 'stream']) assert.match(role, new RegExp(`^(?:${relabel?.regex})$`));
    // The documented way for processes on the host stays.
    assert.deepEqual(
      (job.static_configs ?? []).map((c) => [c.targets.map(hostOf), c.labels?.role]),
      [
        [['host.docker.internal'], 'serve'],
        [['host.docker.internal'], 'stream'],
      ],
    );
    assert.deepEqual(services.prometheus!.extra_hosts, ['host.docker.internal:host-gateway']);
  });
});

// ---- the Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  workdir: string;
  instructions: Instruction[];
}
interface Copy {
  from?: string;
  sources: string[];
  /** Absolute, in the stage's file system. */
  dest: string;
  /** Sources go into dest (it ends with `/`, or there are several, or a wildcard), else become it. */
  intoDir: boolean;
}

/** The Dockerfile's stages: continuations joined, comments dropped, ARG defaults put into FROM. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { op: op!.toUpperCase(), args: rest! };
    if (instruction.op === 'ARG' && stages.length === 0) {
      const [k, v] = rest!.split('=');
      args.set(k!, v ?? '');
    } else if (instruction.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest!)!;
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, k) => args.get(k) ?? '');
      stages.push({ image, name: m[2], workdir: '/', instructions: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${line}: before the first FROM`);
      if (instruction.op === 'WORKDIR') stage.workdir = path.posix.resolve(stage.workdir, rest!);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      const sources = paths.slice(0, -1);
      const last = paths.at(-1)!;
      return {
        from,
        sources,
        dest: path.posix.resolve(stage.workdir, last),
        intoDir: last.endsWith('/') || sources.length > 1 || sources.some((p) => p.includes('*')),
      };
    });
}

/** A .dockerignore pattern as a regular expression on a context path (no `!` exceptions used here). */
function ignoreRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((part) =>
      part === '**'
        ? '(?:.*)'
        : part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
    )
    .join('/')
    .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
  // A matched folder excludes everything under it.
  return new RegExp(`^${body}(?:/.*)?$`);
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const runtime = stages.at(-1)!;
  const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name!, s]));
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(ignoreRegExp);
  const isIgnored = (p: string) => ignored.some((r) => r.test(p.replace(/^\.\//, '')));

  it('builds in a Node + Rust stage and runs on a slim glibc Node 20, as a user, `node bin/recsys.js`', () => {
    const build = byName.get('build');
    assert.ok(build, 'a stage named build');
    assert.match(build.image, /^node:20-(bookworm|bullseye|trixie)$/, 'the build stage is Debian Node 20');
    const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    for (const step of [
      'npm ci',
      'npm run build:native',
      'npm run build:wasm',
      'npm run build:ts',
      'npm prune --omit=dev',
    ])
      assert.ok(
        runs.some((r) => r.startsWith(step)),
        `the build stage runs ${step}`,
      );
    assert.ok(
      copies(build).some((c) => c.from === 'rust' && c.sources.includes('/usr/local/cargo')),
      'the build stage has cargo',
    );
    assert.match(
      runtime.image,
      /^node:20-(bookworm|bullseye|trixie)-slim$/,
      'glibc (uWebSockets.js), not alpine',
    );
    assert.equal(runtime.name, 'runtime');
    const entry = runtime.instructions.find((i) => i.op === 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(entry?.args ?? 'null'), ['node', 'bin/recsys.js']);
    const user = runtime.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user && !['root', '0'].includes(user), `runs as ${user ?? 'root'}`);
  });

  it('copies only from earlier stages, and from context paths that exist and are not ignored', () => {
    const seen = new Set<string>();
    for (const stage of stages) {
      for (const c of copies(stage)) {
        if (c.from) {
          assert.ok(seen.has(c.from), `COPY --from=${c.from}: no earlier stage of that name`);
        } else {
          for (const src of c.sources) {
            assert.ok(existsSync(path.join(repoRoot, src)), `COPY ${src}: not in the repository`);
            assert.ok(!isIgnored(src), `COPY ${src}: excluded by .dockerignore`);
          }
        }
      }
      if (stage.name) seen.add(stage.name);
    }
    // What a local build left here never reaches the image's build.
    for (const p of [
      'node_modules',
      'dist',
      'native/target',
      'native/index.linux-x64-gnu.node',
      'assembly/build',
      '.git',
    ])
      assert.ok(isIgnored(p), `.dockerignore should exclude ${p}`);
    assert.ok(!isIgnored('native/Cargo.toml') && !isIgnored('src/cli/main.ts'));
  });

  it('gives the runtime stage every file recsys reads, from what the build stage copied or built', () => {
    const build = byName.get('build')!;
    // The build stage's paths (relative to its WORKDIR) that came from the context.
    const inBuild = copies(build)
      .filter((c) => !c.from)
      .flatMap((c) =>
        c.sources.map((src) =>
          path.posix.relative(
            build.workdir,
            c.intoDir ? path.posix.join(c.dest, path.posix.basename(src)) : c.dest,
          ),
        ),
      );
    // What the build stage's RUN steps make (package.json scripts), and which script makes it.
    const built: Record<string, string> = {
      node_modules: 'npm ci',
      dist: 'npm run build:ts',
      'native/*.node': 'npm run build:native',
      'assembly/build': 'npm run build:wasm',
    };
    const runtimeFiles: string[] = [];
    for (const c of copies(runtime)) {
      for (const src of c.sources) {
        const rel = c.from === 'build' ? path.posix.relative(build.workdir, src) : src;
        assert.ok(c.from === 'build' || c.from === undefined, `COPY --from=${c.from} ${src}`);
        if (c.from === 'build') {
          const madeBy = Object.entries(built).find(([p]) => ignoreRegExp(p).test(rel))?.[1];
          const copied = inBuild.some((p) => rel === p || rel.startsWith(`${p}/`));
          assert.ok(copied || madeBy, `${src}: neither copied into nor built in the build stage`);
        }
        runtimeFiles.push(rel);
      }
    }
    // bin/recsys.js loads dist/src; the pool and the archive reader load dist/workers; the root is
    // the folder with package.json, where migrations/ (migrate.ts), assembly/build/recsys.wasm
    // (wasm.ts) and native/Cargo.toml with the addon (native.ts) are looked for.
    for (const needed of [
      'package.json',
      'node_modules',
      'bin',
      'dist/src',
      'dist/workers',
      'migrations',
      'native/Cargo.toml',
      'native/*.node',
      'assembly/build/recsys.wasm',
    ])
      assert.ok(runtimeFiles.includes(needed), `the runtime stage does not copy ${needed}`);
  });

  describe('the runtime stage laid out from this build', () => {
    // Each COPY of the last stage, from this repository (`--from=build` paths taken from the
    // build here: run `npm run build` first), into a folder standing for the image's WORKDIR.
    const tmp = tempDir('recsys-image-');
    const app = path.join(tmp.dir, 'app');
    const data = path.join(tmp.dir, 'data');

    before(() => {
      const build = byName.get('build')!;
      for (const c of copies(runtime)) {
        const dest = path.join(app, path.posix.relative(runtime.workdir, c.dest));
        for (const src of c.sources) {
          const rel = c.from === 'build' ? path.posix.relative(build.workdir, src) : src;
          const dir = path.join(repoRoot, path.dirname(rel));
          const matches = rel.includes('*')
            ? readdirSync(dir)
                .filter((f) => ignoreRegExp(path.basename(rel)).test(f))
                .map((f) => path.join(dir, f))
            : [path.join(repoRoot, rel)];
          assert.ok(matches.length > 0 && matches.every((m) => existsSync(m)), `${rel}: not built here`);
          for (const m of matches) {
            const into = c.intoDir ? path.join(dest, path.basename(m)) : dest;
            mkdirSync(path.dirname(into), { recursive: true });
            // node_modules is big: the image's is this one less the dev dependencies.
            if (path.basename(m) === 'node_modules') symlinkSync(m, into, 'dir');
            else cpSync(m, into, { recursive: true });
          }
        }
      }
    });
    after(() => tmp.cleanup());

    const recsysIn = (args: string[]) =>
      run(process.execPath, ['bin/recsys.js', ...args], {
        cwd: app,
        env: { PATH: process.env.PATH, RECSYS_DATA_DIR: data, RECSYS_LOG_LEVEL: 'warn' },
      });

    it('has exactly the files the Dockerfile copies', () => {
      assert.deepEqual(readdirSync(app).sort(), [
        'assembly',
        'bin',
        'dist',
        'migrations',
        'native',
        'node_modules',
        'package.json',
      ]);
      assert.deepEqual(readdirSync(path.join(app, 'dist')).sort(), ['src', 'workers']);
    });

    it('runs the CLI of every compose role', async () => {
      for (const role of Object.keys(ROLES)) {
        const { stdout } = await recsysIn([role, '--help']);
        assert.match(stdout, new RegExp(`^Usage: recsys ${role}`));
      }
    });

    it('finds the migrations, the native addon and the wasm kernels', async () => {
      const { stdout } = await recsysIn(['migrate']);
      assert.match(stdout, /migrations applied: .*"applied":\["0001_/);
      const probe = `
        const { nativeAddonPath, loadNativeAddon } = await import('./dist/src/compute/native.js');
        const { wasmPath } = await import('./dist/src/compute/wasm.js');
        const fs = await import('node:fs');
        loadNativeAddon();
        console.log(JSON.stringify({ native: nativeAddonPath(), wasm: wasmPath(), wasmThere: fs.existsSync(wasmPath()) }));`;
      const out = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: app });
      const found = JSON.parse(out.stdout) as { native: string; wasm: string; wasmThere: boolean };
      assert.equal(path.dirname(found.native), path.join(app, 'native'));
      assert.equal(found.wasm, path.join(app, 'assembly/build/recsys.wasm'));
      assert.ok(found.wasmThere);
    });
  });
});

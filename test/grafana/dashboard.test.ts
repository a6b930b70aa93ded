// The Grafana side of docker-compose.yml as files: the dashboard (fixed uid, every panel on a
// provisioned data source, a layout that fits), its queries (only the SQL macros and Grafana
// variables the services suite can expand, gauges taken with max), and the wiring between
// compose, the provisioning files and the dashboard folder. The queries run for real in
// test/services/grafana-sql.test.ts and test/services/grafana-live.test.ts; the types are checked
// by the compiler in test/grafana/dashboard.ts.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../helpers.js';
import { DASHBOARD_FILE, dataPanels, loadDashboard, promQueries, sqlQueries } from './dashboard.js';
import { expandMacros } from './sql-macros.js';

interface ProvisionedDataSource {
  name: string;
  uid: string;
  type: string;
  url: string;
}

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

function provisionedDataSources(): ProvisionedDataSource[] {
  const dir = 'deploy/grafana/provisioning/datasources';
  return readdirSync(path.join(repoRoot, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => (parse(read(`${dir}/${f}`)) as { datasources: ProvisionedDataSource[] }).datasources);
}

// Gauges that every serve process exports with the same values: summing them over processes
// would multiply them by the number of processes.
const SHARED_GAUGES =
  /\b(recsys_ctr|recsys_conversion_rate|recsys_catalog_coverage|recsys_rmse|recsys_analytics_(impressions|clicks|answers))\b/;

describe('Grafana dashboard', () => {
  const dashboard = loadDashboard();
  const panels = dataPanels(dashboard);
  const sources = provisionedDataSources();

  it('has the fixed uid, a title and panels', () => {
    assert.equal(dashboard.uid, 'recsys-analytics');
    assert.equal(dashboard.title, 'recsys analytics');
    assert.ok(panels.length >= 20, `${panels.length} panels`);
  });

  it('puts every panel and query on a provisioned data source (PostgreSQL or Prometheus)', () => {
    assert.deepEqual(sources.map((s) => [s.uid, s.type]).sort(), [
      ['prometheus', 'prometheus'],
      ['recsys-postgres', 'grafana-postgresql-datasource'],
    ]);
    for (const p of panels) {
      const ds = p.datasource;
      assert.ok(
        sources.some((s) => s.uid === ds?.uid && s.type === ds?.type),
        `panel "${p.title}": data source ${JSON.stringify(ds)} is not provisioned`,
      );
      assert.ok(p.targets?.length, `panel "${p.title}" has no query`);
      for (const t of p.targets ?? [])
        assert.deepEqual(t.datasource, ds, `panel "${p.title}" query ${t.refId}: another data source`);
    }
  });

  it('lays the panels out on the 24-column grid without overlaps, with unique ids', () => {
    const all = dashboard.panels ?? [];
    const ids = all.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids}`);
    const boxes = all.map((p) => ({ title: p.title, ...p.gridPos! }));
    for (const b of boxes) assert.ok(b.x >= 0 && b.w > 0 && b.x + b.w <= 24, `"${b.title}" leaves the grid`);
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1)) {
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        assert.ok(apart, `"${a.title}" overlaps "${b.title}"`);
      }
  });

  it('writes SQL with only the macros the services suite expands, in a format Grafana reads', () => {
    const sql = sqlQueries(dashboard);
    assert.ok(sql.length >= 10, `${sql.length} SQL queries`);
    const range = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-02T00:00:00Z') };
    for (const { name, query } of sql) {
      assert.ok(['time_series', 'table'].includes(query.format), `${name}: format ${query.format}`);
      if (query.format === 'time_series') assert.match(query.rawSql, /AS "time"|\$__timeGroupAlias\(/, name);
      assert.doesNotThrow(() => expandMacros(query.rawSql, range), name);
    }
  });

  it('writes PromQL with no Grafana variable but $__rate_interval, and takes shared gauges with max', () => {
    const prom = promQueries(dashboard);
    assert.ok(prom.length >= 15, `${prom.length} PromQL queries`);
    for (const { name, query } of prom) {
      assert.doesNotMatch(query.expr.replaceAll('$__rate_interval', ''), /\$/, `${name}: ${query.expr}`);
      if (SHARED_GAUGES.test(query.expr)) assert.match(query.expr, /^max by \(/, `${name}: ${query.expr}`);
    }
  });
});

describe('Grafana and Prometheus in docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<
      string,
      { volumes?: string[]; environment?: Record<string, string>; depends_on?: object }
    >;
  };
  const grafana = compose.services.grafana!;
  /** Where compose mounts a repository folder in the Grafana container. */
  const mountOf = (service: { volumes?: string[] }, from: string) =>
    service.volumes?.find((v) => v.startsWith(`${from}:`))?.split(':')[1];

  it('mounts the provisioning and the dashboard folder where the provider reads them', () => {
    assert.equal(mountOf(grafana, './deploy/grafana/provisioning'), '/etc/grafana/provisioning');
    const provider = parse(read('deploy/grafana/provisioning/dashboards/recsys.yml')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const dashboards = mountOf(grafana, './deploy/grafana/dashboards');
    assert.equal(provider.providers[0]!.options.path, dashboards);
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    assert.equal(home, `${dashboards}/${path.basename(DASHBOARD_FILE)}`);
    assert.ok(existsSync(path.join(repoRoot, DASHBOARD_FILE)));
  });

  it('points each data source at a compose service, and Prometheus at the repository config', () => {
    for (const s of provisionedDataSources()) {
      const host = new URL(s.url.includes('://') ? s.url : `tcp://${s.url}`).hostname;
      assert.ok(compose.services[host], `${s.name}: ${s.url} is no compose service`);
      assert.ok(Object.keys(grafana.depends_on ?? {}).includes(host), `grafana does not wait for ${host}`);
    }
    assert.equal(
      mountOf(compose.services.prometheus!, './deploy/prometheus/prometheus.yml'),
      '/etc/prometheus/prometheus.yml',
    );
  });
});

describe('Grafana SQL macros', () => {
  const range = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-01T06:30:00.250Z') };

  it('expand as Grafana’s PostgreSQL data source expands them', () => {
    assert.equal(
      expandMacros('WHERE $__timeFilter(hour) AND t < $__timeTo() AND t >= $__timeFrom()', range),
      "WHERE hour BETWEEN '2026-01-01T00:00:00Z' AND '2026-01-01T06:30:00.250Z' AND t < '2026-01-01T06:30:00.250Z' AND t >= '2026-01-01T00:00:00Z'",
    );
    assert.equal(
      expandMacros("SELECT $__timeGroupAlias(a.hour, '1d')", range),
      'SELECT floor(extract(epoch from a.hour)/86400)*86400 AS "time"',
    );
  });

  it('refuse other macros and leftover variables', () => {
    assert.throws(
      () => expandMacros('SELECT $__timeGroup(hour, 1h)', range),
      /not one the dashboard may use/,
    );
    assert.throws(
      () => expandMacros('SELECT $__unixEpochFilter(ts)', range),
      /not one the dashboard may use/,
    );
    assert.throws(() => expandMacros('WHERE source = $source', range), /unexpanded/);
  });
});

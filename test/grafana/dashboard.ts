// The Grafana dashboard of deploy/grafana/dashboards, typed by Grafana's own published schema
// (@grafana/schema, pinned to the Grafana image of docker-compose.yml). The checks below are made
// by the compiler, so `npm run build:ts` fails on a dashboard Grafana's model does not accept:
// a field of the wrong type, a required field missing, or a key the schema does not know (Grafana
// drops those silently, so a misspelt "gridpos" would go unnoticed until someone looked).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type {
  Dashboard,
  DataQuery,
  DataSourceRef,
  FieldConfig,
  FieldConfigSource,
  GridPos,
  Panel,
  RowPanel,
} from '@grafana/schema';
import { repoRoot } from '../helpers.js';

export const DASHBOARD_FILE = 'deploy/grafana/dashboards/analytics.json';

type AnalyticsJson = typeof import('../../deploy/grafana/dashboards/analytics.json');

/** A PostgreSQL data source query (raw SQL, as the code editor saves it). */
export interface SqlQuery extends DataQuery {
  rawSql: string;
  format: string;
  rawQuery?: boolean;
  editorMode?: string;
}

/** A Prometheus data source query. */
export interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  editorMode?: string;
}

// ---- compile-time checks (nothing here runs)
/** Every key of every member of a union. */
type Keys<T> = T extends unknown ? keyof T : never;
/** The keys of `Actual` that `Known` does not have. */
type UnknownKeys<Actual, Known> = Exclude<Keys<Actual>, Keys<Known>>;
/** Compiles only when `T` is never; otherwise the error names the unknown keys. */
type None<T extends never> = T;
/** Compiles only when `A` is assignable to `B`. */
type Fits<A extends B, B> = A;

type JsonPanel = AnalyticsJson['panels'][number];
type JsonTarget = NonNullable<JsonPanel['targets']>[number];

export type SchemaChecks = [
  Fits<AnalyticsJson, Dashboard>,
  None<UnknownKeys<AnalyticsJson, Dashboard>>,
  None<UnknownKeys<JsonPanel, Panel | RowPanel>>,
  None<UnknownKeys<NonNullable<JsonPanel['gridPos']>, GridPos>>,
  None<UnknownKeys<NonNullable<JsonPanel['datasource']>, DataSourceRef>>,
  None<UnknownKeys<NonNullable<JsonPanel['fieldConfig']>, FieldConfigSource>>,
  None<UnknownKeys<NonNullable<JsonPanel['fieldConfig']>['defaults'], FieldConfig>>,
  Fits<JsonTarget, SqlQuery | PromQuery>,
  None<UnknownKeys<JsonTarget, SqlQuery | PromQuery>>,
];

// ---- the dashboard at run time
/** The dashboard file as it is in the repository now (not a copy made at build time). */
export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(path.join(repoRoot, DASHBOARD_FILE), 'utf8')) as Dashboard;
}

/** Every panel that shows data (rows are only headings), including those inside collapsed rows. */
export function dataPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...(p as RowPanel).panels);
    else out.push(p as Panel);
  }
  return out;
}

export interface PanelQuery<Q> {
  panel: Panel;
  query: Q;
  /** "panel title / refId", for messages. */
  name: string;
}

function queries(d: Dashboard): Array<PanelQuery<Record<string, unknown>>> {
  return dataPanels(d).flatMap((panel) =>
    (panel.targets ?? []).map((query) => ({ panel, query, name: `${panel.title} / ${query.refId}` })),
  );
}

export function sqlQueries(d: Dashboard): Array<PanelQuery<SqlQuery>> {
  // Grafana types a panel's queries as plain records: its data source decides their fields.
  return queries(d).filter((q) => typeof q.query.rawSql === 'string') as unknown as Array<
    PanelQuery<SqlQuery>
  >;
}

export function promQueries(d: Dashboard): Array<PanelQuery<PromQuery>> {
  return queries(d).filter((q) => typeof q.query.expr === 'string') as unknown as Array<
    PanelQuery<PromQuery>
  >;
}

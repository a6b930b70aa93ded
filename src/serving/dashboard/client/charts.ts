/**
 * The analytics charts: CTR, catalog coverage and online RMSE over the window's buckets, one
 * line per model version and a thicker one for the totals, drawn with uPlot (loaded by the
 * page from the server as a global, /dashboard/assets/uplot.min.js).
 */
import type UPlot from 'uplot';
import { error, percent, version } from './format.js';
import type { SeriesRow } from './report.js';

const uPlot = (globalThis as unknown as { uPlot: typeof UPlot }).uPlot;

export interface ChartSpec {
  /** The report field drawn. */
  field: 'ctr' | 'coverage' | 'rmse';
  title: string;
  format: (v: number | null) => string;
}

export const CHARTS: ChartSpec[] = [
  { field: 'ctr', title: 'CTR', format: percent },
  { field: 'coverage', title: 'Catalog coverage', format: percent },
  { field: 'rmse', title: 'Online RMSE', format: error },
];

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const HEIGHT = 220;

/** The series' model versions: the totals (null) first, then the versions in order. */
export function versionsOf(rows: SeriesRow[]): Array<string | null> {
  const versions = [...new Set(rows.map((r) => r.model_version).filter((v) => v !== null))].sort();
  return [null, ...versions];
}

/** uPlot's aligned data: bucket times in seconds, then one array per version (null: no row). */
export function alignedData(rows: SeriesRow[], field: ChartSpec['field'], versions: Array<string | null>) {
  const times = [...new Set(rows.map((r) => Date.parse(r.bucket)))].sort((a, b) => a - b);
  const slot = new Map(times.map((t, i) => [t, i]));
  const columns = versions.map(() => new Array<number | null>(times.length).fill(null));
  const which = new Map(versions.map((v, i) => [v, i]));
  for (const r of rows) {
    const i = which.get(r.model_version);
    const j = slot.get(Date.parse(r.bucket));
    if (i !== undefined && j !== undefined) columns[i][j] = r[field];
  }
  return [times.map((t) => t / 1000), ...columns] as UPlot.AlignedData;
}

/** One chart over the report's window; rebuilt when the set of versions changes, else only its data. */
export class Chart {
  private plot: UPlot | null = null;
  private versions = '';
  /** The window's ends in seconds: the x axis spans the window, however few buckets have data. */
  private span: [number, number] = [0, 1];

  constructor(
    private readonly spec: ChartSpec,
    private readonly host: HTMLElement,
  ) {}

  render(rows: SeriesRow[], from: string, to: string): void {
    this.span = [Date.parse(from) / 1000, Date.parse(to) / 1000];
    const versions = versionsOf(rows);
    const data = alignedData(rows, this.spec.field, versions);
    const key = JSON.stringify(versions);
    if (this.plot && key === this.versions) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.versions = key;
    const format = this.spec.format;
    this.plot = new uPlot(
      {
        title: this.spec.title,
        width: this.width(),
        height: HEIGHT,
        scales: {
          x: { time: true, range: () => this.span },
          y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max || 1] },
        },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => format(t)), size: 70 }],
        series: [
          {},
          ...versions.map((v, i) => ({
            label: v === null ? 'all' : version(v),
            stroke: v === null ? '#222' : PALETTE[(i - 1) % PALETTE.length],
            width: v === null ? 2.5 : 1.5,
            spanGaps: true,
            points: { show: true, size: 5 },
            value: (_u: UPlot, val: number | null) => format(val),
          })),
        ],
      },
      data,
      this.host,
    );
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  private width(): number {
    return Math.max(300, this.host.clientWidth || 600);
  }
}

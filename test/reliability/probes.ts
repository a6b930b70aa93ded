// Samples of each recsys process while a reliability run goes: its resident memory (VmRSS in
// /proc/<pid>/status, threads and workers included) and its event loop's p99 delay (prom-client's
// recsys_nodejs_eventloop_lag_p99_seconds on its /metrics, which covers the time since the page was
// last read). The scheduler has no HTTP port, so its loop delay is not sampled.
import { readFileSync } from 'node:fs';
import type { Proc } from './cluster.js';

export interface Sample {
  at: number;
  rssMiB: number;
  lagP99Ms: number | null;
}

export interface ProcessReport {
  name: string;
  samples: number;
  rssWarmMiB: number;
  rssEndMiB: number;
  /** (end - warm) / warm, both the mean of the samples in a window. */
  rssGrowth: number;
  lagP99Ms: { median: number | null; max: number | null };
  /** Every sample: seconds from the start, RSS MiB. */
  series: Array<[number, number]>;
}

export function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function lagP99Ms(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const m = /^recsys_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

export class Sampler {
  private readonly samples = new Map<string, Sample[]>();
  private timer: NodeJS.Timeout | null = null;
  /** When sampling started (epoch ms): sample times count from it. */
  t0 = Date.now();

  constructor(
    private readonly procs: () => Proc[],
    private readonly everyMs = 5000,
  ) {}

  start(): void {
    this.t0 = Date.now();
    const take = async () => {
      for (const p of this.procs()) {
        if (!p.alive()) continue;
        const rss = rssMiB(p.pid);
        if (rss === null) continue;
        const lag = p.url ? await lagP99Ms(p.url) : null;
        const list = this.samples.get(p.name) ?? [];
        list.push({ at: (Date.now() - this.t0) / 1000, rssMiB: rss, lagP99Ms: lag });
        this.samples.set(p.name, list);
      }
    };
    void take();
    this.timer = setInterval(() => void take(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Per process: RSS at the end of its warm-up (seconds from the start) and at the end (each the mean over `windowS`
   * seconds of samples), and the loop delay's p99 after the warm-up (median and worst sample).
   */
  report(warmupOf: (name: string) => number, windowS: number): ProcessReport[] {
    const out: ProcessReport[] = [];
    for (const [name, list] of this.samples) {
      const warmupS = warmupOf(name);
      const mean = (xs: Sample[]) => xs.reduce((a, s) => a + s.rssMiB, 0) / Math.max(1, xs.length);
      const end = list.at(-1)?.at ?? 0;
      const warm = list.filter((s) => s.at >= warmupS && s.at < warmupS + windowS);
      const last = list.filter((s) => s.at > end - windowS);
      const lags = list
        .filter((s) => s.at >= warmupS && s.lagP99Ms !== null)
        .map((s) => s.lagP99Ms!)
        .sort((a, b) => a - b);
      const w = warm.length ? mean(warm) : (list[0]?.rssMiB ?? 0);
      const e = mean(last);
      out.push({
        name,
        samples: list.length,
        rssWarmMiB: round(w),
        rssEndMiB: round(e),
        rssGrowth: w > 0 ? round((e - w) / w, 3) : 0,
        lagP99Ms: {
          median: lags.length ? round(lags[Math.floor(lags.length / 2)]!) : null,
          max: lags.length ? round(lags.at(-1)!) : null,
        },
        series: list.map((x) => [round(x.at), round(x.rssMiB)]),
      });
    }
    return out;
  }
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

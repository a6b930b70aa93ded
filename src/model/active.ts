/**
 * The active model of this process, ready to score: the AlsModel plus a Scorer holding its
 * item matrix. Serving, speed and batch read it through `current()`; it follows the
 * registry through the cache's pub/sub channel and a slow poll (in case a message is lost).
 */
import type { BackendName } from '../compute/kernels.js';
import { MODEL_CHANNEL } from '../events/index.js';
import type { Stores } from '../stores/index.js';
import type { AlsModel } from './model.js';
import { activeVersion, loadModel } from './registry.js';
import { Scorer } from './scorer.js';

export interface LoadedModel {
  model: AlsModel;
  scorer: Scorer;
}

export interface ActiveModelOptions {
  backend: BackendName;
  pollMs?: number;
  onError?: (err: Error) => void;
  maxK?: number;
}

export class ActiveModel {
  private loaded: LoadedModel | null = null;
  private readonly listeners = new Set<(m: LoadedModel) => void>();
  private unsubscribe: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly stores: Pick<Stores, 'db' | 'objects' | 'cache'>,
    private readonly opts: ActiveModelOptions,
  ) {}

  current(): LoadedModel | null {
    return this.loaded;
  }

  onChange(fn: (m: LoadedModel) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Load the registry's active model now, and follow it from then on. */
  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = await this.stores.cache.subscribe(
      MODEL_CHANNEL,
      () => void this.reload().catch(this.report),
    );
    this.timer = setInterval(() => void this.reload().catch(this.report), this.opts.pollMs ?? 30_000);
    this.timer.unref();
  }

  /** Switch to the registry's active version if it differs from the one loaded. */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  /** Use this model directly (after training in-process), without a registry round trip. */
  async use(model: AlsModel): Promise<void> {
    const scorer = await Scorer.create(
      this.opts.backend,
      model.scoringItems(),
      model.itemIds.length,
      model.scoringDims,
      {
        maxK: this.opts.maxK ?? 1000,
      },
    );
    this.loaded = { model, scorer };
    for (const fn of this.listeners) fn(this.loaded);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => undefined);
  }

  private readonly report = (err: Error) => this.opts.onError?.(err);

  private async doReload(): Promise<void> {
    const version = await activeVersion(this.stores);
    if (!version || version === this.loaded?.model.meta.version) return;
    await this.use(await loadModel(this.stores, version));
  }
}

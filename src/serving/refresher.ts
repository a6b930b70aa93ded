/**
 * Background reload of data the request path reads from memory (catalog, popular items):
 * load once at start, then every `everyMs`; a failed load keeps the last copy.
 */
import type { Logger } from '../logger.js';

export class Refresher {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly refresh: () => Promise<void>,
    private readonly logger: Logger,
    private readonly messages: { firstFailed: string; laterFailed: string },
  ) {}

  async start(everyMs: number): Promise<void> {
    await this.refresh().catch((err) => this.logger.warn({ err }, this.messages.firstFailed));
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.logger.debug({ err }, this.messages.laterFailed));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The options every command that touches the stores shares, and opening them from those. */
import type { Command } from 'commander';
import { loadConfig, type RecsysConfig } from '../config.js';
import { openStores, type Stores } from '../stores/index.js';

export interface StoreOpts {
  dataDir?: string;
  config?: string;
}

export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'embedded mode files (default RECSYS_DATA_DIR or ./data)')
    .option('--config <file>', 'JSON config file (default RECSYS_CONFIG)');
}

export function configFrom(opts: StoreOpts, overrides: { mode?: string } = {}): RecsysConfig {
  return loadConfig({
    configFile: opts.config,
    overrides: { ...overrides, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
  });
}

export async function openFrom(config: RecsysConfig, migrate = true): Promise<Stores> {
  return openStores(config, { migrate });
}

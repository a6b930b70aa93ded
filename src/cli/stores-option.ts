/** The options every command that touches the stores shares, and opening them from those. */
import type { Command } from 'commander';
import { useKernelArtifacts } from '../compute/backends.js';
import { type ConfigInput, loadConfig, type RecsysConfig } from '../config/index.js';
import { setLogLevel } from '../logger.js';
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

/**
 * The configuration of a command: loaded (flags over environment over file), and what this
 * process takes from it applied: the log level and where kernels load from.
 */
export function configFrom(opts: StoreOpts, overrides: ConfigInput = {}): RecsysConfig {
  const config = loadConfig({
    configFile: opts.config,
    overrides: { ...overrides, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) },
  });
  setLogLevel(config.logLevel);
  useKernelArtifacts(config.compute);
  return config;
}

export async function openFrom(config: RecsysConfig, migrate = true): Promise<Stores> {
  return openStores(config, { migrate });
}

/** `recsys migrate`: apply pending schema migrations (also done at every start). */
import { Command } from 'commander';
import { migrate } from '../stores/relational/migrate.js';
import { configFrom, openFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

export function migrateCommand(): Command {
  return withStoreOptions(new Command('migrate').description('apply pending schema migrations')).action(
    async (opts: StoreOpts) => {
      const stores = await openFrom(configFrom(opts), false);
      try {
        const applied = await migrate(stores.db);
        process.stdout.write(`migrations applied: ${JSON.stringify(applied)}\n`);
      } finally {
        await stores.close();
      }
    },
  );
}

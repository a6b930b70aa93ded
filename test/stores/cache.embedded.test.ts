// Cache contract on the in-process LRU (embedded mode).

import { silentLogger } from '../../src/logger.js';
import { openMemoryCache } from '../../src/stores/cache/memory.js';
import { cacheContract } from './contract/cache.js';

cacheContract('in-process LRU', async () => {
  const cache = openMemoryCache({ logger: silentLogger });
  return { cache, cleanup: () => cache.close() };
});

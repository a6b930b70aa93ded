// Cache contract on Redis; keys and channels live in a namespace unique to the run.

import { silentLogger } from '../../src/logger.js';
import { openRedisCache } from '../../src/stores/cache/redis.js';
import { cacheContract } from '../stores/contract/cache.js';
import { uid } from '../stores/support/wait.js';
import { CONNECT_TIMEOUT_MS, servers } from './env.js';

cacheContract('Redis', async () => {
  const cache = await openRedisCache({
    url: servers.redisUrl,
    namespace: `${uid('test-')}:`,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    logger: silentLogger,
  });
  return { cache, cleanup: () => cache.close() };
});

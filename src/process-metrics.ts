/**
 * prom-client's default process and Node.js metrics, prefixed `recsys_`, for a role's registry
 * (serving, `recsys stream`). Three of them are gauges named `*_total` (the sums of
 * nodejs_active_handles, _requests and _resources over their `type` label), which
 * `promtool check metrics` rejects, since `_total` is for counters; they are dropped: sum the
 * per-type gauges instead.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

const PREFIX = 'recsys_';
const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  for (const name of GAUGES_NAMED_AS_COUNTERS) registry.removeSingleMetric(PREFIX + name);
}

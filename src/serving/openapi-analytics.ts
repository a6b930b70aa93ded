/**
 * The analytics report in the OpenAPI document: its schema (src/analytics/report.ts) and the
 * two routes that serve it (routes/analytics.ts).
 */
const num = { type: 'number' };
const ratio = { type: ['number', 'null'], description: 'null when nothing to divide by' };
const count = { type: 'number', minimum: 0 };
const obj = (properties: Record<string, object>, extra: Record<string, object> = {}) => ({
  type: 'object',
  required: Object.keys(properties),
  properties: { ...properties, ...extra },
});
const list = (properties: Record<string, object>) => ({ type: 'array', items: obj(properties) });
const version = { type: 'string', description: "'' for answers served without a model" };
const ctrPart = { value: ratio, clicks: count, impressions: count };

export const analyticsReportSchema = obj({
  from: { type: 'string', format: 'date-time' },
  to: { type: 'string', format: 'date-time' },
  granularity: { enum: ['hour', 'day'] },
  rolled_up_at: { type: ['string', 'null'], format: 'date-time' },
  ctr: obj({
    ...ctrPart,
    viewed: obj(ctrPart),
    by_model_version: list({ model_version: version, ...ctrPart }),
    by_source: list({ source: { type: 'string' }, ...ctrPart }),
    by_position: list({ position: { type: 'integer', minimum: 1 }, ...ctrPart }),
  }),
  conversions: obj({
    value: ratio,
    conversions: count,
    clicks: count,
    by_model_version: list({ model_version: version, value: ratio, conversions: count, clicks: count }),
  }),
  coverage: obj({
    value: ratio,
    items: count,
    active_items: count,
    by_model_version: list({ model_version: version, value: ratio, items: count }),
  }),
  rmse: obj({
    online: obj({
      value: ratio,
      mae: ratio,
      ratings: count,
      by_model_version: list({ model_version: version, value: ratio, mae: ratio, ratings: count }),
    }),
    offline: list({
      model_version: { type: 'string' },
      status: { type: 'string' },
      created_at: { type: 'string', format: 'date-time' },
      rmse: ratio,
      mae: ratio,
      metrics: { type: 'object', additionalProperties: num },
    }),
  }),
  answers: obj({ total: count, by_source: list({ source: { type: 'string' }, answers: count }) }),
  latency_ms: obj({ p50: ratio, p95: ratio, p99: ratio }),
  series: list({
    bucket: { type: 'string', format: 'date-time' },
    model_version: { type: ['string', 'null'], description: 'null: all versions together' },
    answers: count,
    impressions: count,
    clicks: count,
    ctr: ratio,
    conversions: count,
    items: count,
    coverage: ratio,
    ratings: count,
    rmse: ratio,
  }),
});

const windowParams = [
  {
    name: 'from',
    in: 'query',
    description: 'Start (ISO 8601 or epoch ms), rounded down to the hour; default: 24 h before `to`',
    schema: { type: 'string' },
  },
  {
    name: 'to',
    in: 'query',
    description: 'End (ISO 8601 or epoch ms), rounded up to the hour; default: now',
    schema: { type: 'string' },
  },
  {
    name: 'granularity',
    in: 'query',
    description: 'Series buckets; default hour, day for windows over 7 days',
    schema: { enum: ['hour', 'day'] },
  },
];

/** `json`, `err` and `keyed` are the document's own helpers (openapi.ts). */
export function analyticsPaths(
  json: (schema: object, description: string) => object,
  err: (description: string) => object,
  keyed: Record<string, object>,
): Record<string, object> {
  const description = 'CTR, conversions, catalog coverage, RMSE, answers and latency over the window';
  const answers = {
    '200': json({ $ref: '#/components/schemas/AnalyticsReport' }, description),
    '400': err('Invalid window'),
    '503': err('The relational store is unavailable'),
  };
  return {
    '/v1/admin/metrics': {
      get: {
        summary: 'Analytics report (rollups as of the last pass)',
        security: [{ apiKey: [] }],
        parameters: windowParams,
        responses: { ...keyed, ...answers },
      },
    },
    '/dashboard/metrics.json': {
      get: {
        summary: 'The analytics report for the built-in dashboard (open, like /metrics)',
        parameters: windowParams,
        responses: { ...answers, '429': err('Rate limit exceeded'), '500': err('Internal error') },
      },
    },
  };
}

/**
 * The OpenAPI 3.1 description of every endpoint, served at /openapi.json. Request bodies
 * use the same schema objects the server validates with (schemas.ts, and the event
 * contract's eventSchema).
 */
import { EVENT_TYPES, eventSchema, MAX_ID_LENGTH } from '../events/index.js';
import { analyticsPaths, analyticsReportSchema } from './openapi-analytics.js';
import { anonymousSchema, eventsBodySchema, feedbackSchema, MAX_EXCLUDE, MAX_K } from './schemas.js';

const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const err = (description: string) => json(ref('Error'), description);

const kParam = {
  name: 'k',
  in: 'query',
  description: 'How many items',
  schema: { type: 'integer', minimum: 1, maximum: MAX_K, default: 10 },
};
const categoryParam = {
  name: 'category',
  in: 'query',
  description: 'Only items of this category',
  schema: { type: 'string', maxLength: MAX_ID_LENGTH },
};
const excludeParam = {
  name: 'exclude',
  in: 'query',
  description: `Item ids never to return, comma-separated (at most ${MAX_EXCLUDE})`,
  schema: { type: 'string' },
};
const idPath = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH },
});

const common = {
  '400': err('Invalid input'),
  '429': err('Rate limit exceeded (see Retry-After)'),
  '500': err('Internal error'),
};
const keyed = { '401': err('Missing or invalid API key'), ...common };
/** Read endpoints: public unless RECSYS_PUBLIC_READS=false; a key presented must be valid either way. */
const readSecurity = [{}, { apiKey: [] }];
const listAnswer = (description: string) => ({
  '200': json(ref('Recommendations'), description),
  '401': err('Invalid API key, or no key where reads need one (RECSYS_PUBLIC_READS=false)'),
  ...common,
});
const jsonBody = {
  '413': err('Body too large'),
  '415': err('Body is not JSON'),
};

export function openApiDocument(serverVersion: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'recsys',
      version: serverVersion,
      description:
        'Real-time recommendations: ALS models served from an in-process cache, a shared cache and the relational store, with a speed layer folding in new events. Every recommendation answer carries rec_id (join key for feedback), model_version and source.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: {
        AnalyticsReport: analyticsReportSchema,
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', description: 'Stable machine-readable code, e.g. invalid_events' },
                message: { type: 'string' },
                details: { description: 'Per-item problems, e.g. [{index, reason}] for event batches' },
              },
            },
          },
        },
        ScoredItem: {
          type: 'object',
          required: ['item_id', 'score'],
          properties: { item_id: { type: 'string' }, score: { type: 'number' } },
        },
        Recommendations: {
          type: 'object',
          required: ['rec_id', 'model_version', 'source', 'items'],
          properties: {
            rec_id: {
              type: 'string',
              format: 'uuid',
              description: 'Identifies this answer; send it back with feedback',
            },
            user_id: { type: 'string' },
            item_id: { type: 'string', description: 'The item similar items were asked for' },
            model_version: { type: ['string', 'null'] },
            source: {
              enum: ['l0', 'l1', 'l2', 'batch', 'realtime', 'popular'],
              description:
                "l0: in-process cache; l1: shared cache; batch: the batch layer's answer; realtime: scored now from the speed layer's vector (or a fold-in); l2: scored now from the model's factors; popular: popular items (unknown user or no model)",
            },
            items: { type: 'array', items: ref('ScoredItem') },
            ignored_items: {
              type: 'array',
              items: { type: 'string' },
              description: 'Anonymous sessions: items the model does not know',
            },
          },
        },
        Event: eventSchema,
        EventsBody: eventsBodySchema,
        EventsAccepted: {
          type: 'object',
          required: ['accepted', 'event_ids'],
          properties: {
            accepted: { type: 'integer' },
            event_ids: { type: 'array', items: { type: 'string', format: 'uuid' } },
          },
        },
        Feedback: feedbackSchema,
        FeedbackRecorded: {
          type: 'object',
          required: ['id', 'rec_id', 'user_id'],
          properties: { id: { type: 'integer' }, rec_id: { type: 'string' }, user_id: { type: 'string' } },
        },
        AnonymousRequest: anonymousSchema,
        Run: {
          type: 'object',
          required: ['run_id', 'trigger', 'status', 'phase', 'phases', 'error', 'model_version', 'published'],
          properties: {
            run_id: { type: 'string' },
            trigger: { enum: ['cli', 'api', 'scheduler'] },
            status: { enum: ['queued', 'running', 'succeeded', 'failed', 'rejected'] },
            phase: {
              type: ['string', 'null'],
              description: 'The phase running now, or the one a failed run failed in',
            },
            phases: {
              type: 'object',
              additionalProperties: { type: 'number' },
              description:
                'Seconds of each finished phase: read, train, evaluate, refit, save, precompute, activate',
            },
            scheduled_for: { type: ['string', 'null'], format: 'date-time' },
            started_at: { type: ['string', 'null'], format: 'date-time' },
            finished_at: { type: ['string', 'null'], format: 'date-time' },
            error: { type: ['string', 'null'] },
            model_version: { type: ['string', 'null'] },
            published: { type: 'boolean' },
            metrics: {
              type: ['object', 'null'],
              description:
                'data (rows read, duplicates), gate (metric, candidate and active values, reason), precomputed',
            },
            owner: { type: ['string', 'null'], description: 'host:pid that ran it' },
            created_at: { type: 'string', format: 'date-time' },
          },
        },
        Model: {
          type: 'object',
          required: [
            'version',
            'algorithm',
            'params',
            'metrics',
            'artifact_uri',
            'status',
            'created_at',
            'activated_at',
          ],
          properties: {
            version: { type: 'string' },
            algorithm: { type: 'string' },
            params: { type: 'object' },
            metrics: { type: 'object' },
            artifact_uri: { type: ['string', 'null'] },
            status: { enum: ['candidate', 'active', 'retired'] },
            created_at: { type: 'string', format: 'date-time' },
            activated_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        Readiness: {
          type: 'object',
          required: ['status', 'model_version', 'checks'],
          properties: {
            status: {
              enum: ['ready', 'degraded', 'not_ready'],
              description:
                'degraded: what RECSYS_READY_REQUIRES lists is there, something else is not (still 200)',
            },
            model_version: { type: ['string', 'null'] },
            checks: {
              type: 'object',
              description: 'Each store and the model: "ok", else why not',
              additionalProperties: { type: 'string' },
            },
            circuits: {
              type: 'object',
              description:
                'The circuit breaker around each store this server calls (db, cache, bus, db_log for log writes)',
              additionalProperties: { enum: ['closed', 'open', 'half-open'] },
            },
          },
        },
      },
    },
    paths: {
      '/v1/recommendations/{userId}': {
        get: {
          summary: 'Top-k items for a user',
          security: readSecurity,
          description:
            'From the in-process cache, the shared cache, the batch answer or the speed layer\'s vector; an unknown user gets popular items (source "popular"). k items come back whenever the catalog has that many allowed items.',
          parameters: [
            idPath('userId', 'The user'),
            kParam,
            {
              name: 'exclude_seen',
              in: 'query',
              description: 'Leave out items the user interacted with',
              schema: { type: 'boolean', default: true },
            },
            categoryParam,
            excludeParam,
          ],
          responses: listAnswer('Recommendations for the user'),
        },
      },
      '/v1/recommendations/anonymous': {
        post: {
          summary: 'Recommendations for a session without a user id (fold-in)',
          security: readSecurity,
          requestBody: { required: true, ...json(ref('AnonymousRequest'), 'The session') },
          responses: {
            ...listAnswer('Recommendations for the session (source realtime; popular when no item is known)'),
            ...jsonBody,
          },
        },
      },
      '/v1/similar/{itemId}': {
        get: {
          summary: 'Items nearest to an item (cosine similarity of factors)',
          security: readSecurity,
          parameters: [idPath('itemId', 'The item'), kParam, categoryParam],
          responses: {
            ...listAnswer('Similar items, the item itself left out'),
            '404': err('The model does not know the item'),
            '503': err('No model loaded'),
          },
        },
      },
      '/v1/items/popular': {
        get: {
          summary: 'Popular items (most interactions in the last 24 h, else in training)',
          security: readSecurity,
          parameters: [kParam, categoryParam, excludeParam],
          responses: listAnswer('Popular items'),
        },
      },
      '/v1/events': {
        post: {
          summary: 'Record interactions',
          description: `One event or an array of up to 1000; published to the event bus keyed by user id. Event types: ${EVENT_TYPES.join(', ')}. If any event is invalid, none is published.`,
          security: [{ apiKey: [] }],
          requestBody: { required: true, ...json(ref('EventsBody'), 'Events') },
          responses: {
            '202': json(ref('EventsAccepted'), 'Published; the ids of the events in order'),
            ...keyed,
            ...jsonBody,
            '503': err('The event bus is unavailable'),
          },
        },
      },
      '/v1/feedback': {
        post: {
          summary: 'Record a reaction to a served answer',
          security: [{ apiKey: [] }],
          requestBody: { required: true, ...json(ref('Feedback'), 'Feedback') },
          responses: {
            '201': json(ref('FeedbackRecorded'), 'Stored'),
            ...keyed,
            ...jsonBody,
            '404': err('Unknown rec_id (send user_id to record it anyway)'),
            '409': err('user_id differs from the user the answer was served to'),
            '503': err('The relational store is unavailable'),
          },
        },
      },
      '/v1/stream': {
        get: {
          summary: "WebSocket: pushes a user's new recommendations",
          description:
            'Upgrade to a WebSocket, then send {"subscribe": userId} or {"unsubscribe": userId}; the server replies {"subscribed": userId} / {"unsubscribed": userId} and sends {"type": "recommendations", "rec_id", "user_id", "model_version", "source", "items"} whenever the user\'s recommendations change (a served answer: its rec_id can be sent back with feedback).',
          responses: {
            '101': { description: 'Switching protocols' },
            '426': err(
              'Not a WebSocket upgrade (a plain GET, or no valid Sec-WebSocket-Key): the answer has `Upgrade: websocket`',
            ),
            '401': err(
              'Invalid API key, or no key where reads need one (x-api-key header or api_key query parameter)',
            ),
            '429': err('Too many wrong API keys from this address (see Retry-After)'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness',
          responses: {
            '200': json(
              { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
              'Alive',
            ),
          },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: stores reachable and a model loaded',
          responses: {
            '200': json(ref('Readiness'), 'Ready'),
            '503': json(ref('Readiness'), 'Not ready; checks say why'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'Text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document') },
        },
      },
      ...analyticsPaths(json, err, keyed),
      '/dashboard': {
        get: {
          summary: 'Built-in dashboard',
          responses: {
            '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        },
      },
      '/dashboard/assets/{name}': {
        get: {
          summary:
            "A file the dashboard page loads: uplot.min.js, uplot.min.css (uPlot, from the server's own node_modules) or one of the page's modules (main.js, …)",
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': {
              description: 'The file',
              content: {
                'text/javascript': { schema: { type: 'string' } },
                'text/css': { schema: { type: 'string' } },
              },
            },
            '404': err('No such file'),
          },
        },
      },
      '/v1/admin/train': {
        post: {
          summary: 'Start a batch run (read, train, evaluate, gate, precompute, activate)',
          security: [{ apiKey: [] }],
          responses: {
            '202': json(
              {
                type: 'object',
                required: ['run_id', 'status', 'href'],
                properties: {
                  run_id: { type: 'string' },
                  status: { const: 'queued' },
                  href: { type: 'string', description: 'Where to follow the run' },
                },
              },
              'Started; the run goes on in this process',
            ),
            ...keyed,
            '409': err('A batch run is in progress (in any process); details.run_id names it'),
            '501': err('This process cannot start batch runs'),
            '503': err('A store is unavailable'),
          },
        },
      },
      '/v1/admin/runs': {
        get: {
          summary: 'Batch runs, newest first',
          security: [{ apiKey: [] }],
          parameters: [
            {
              name: 'limit',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            },
          ],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['runs'],
                properties: { runs: { type: 'array', items: ref('Run') } },
              },
              'The run history',
            ),
            ...keyed,
            '503': err('The relational store is unavailable'),
          },
        },
      },
      '/v1/admin/runs/{id}': {
        get: {
          summary: 'One batch run',
          security: [{ apiKey: [] }],
          parameters: [idPath('id', 'The run id')],
          responses: {
            '200': json(ref('Run'), 'The run'),
            ...keyed,
            '404': err('No such run'),
            '503': err('The relational store is unavailable'),
          },
        },
      },
      '/v1/admin/models': {
        get: {
          summary: 'Models in the registry',
          security: [{ apiKey: [] }],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['serving', 'models'],
                properties: {
                  serving: { type: ['string', 'null'] },
                  models: { type: 'array', items: ref('Model') },
                },
              },
              'Newest first; serving is the version this process serves',
            ),
            ...keyed,
            '503': err('The relational store is unavailable'),
          },
        },
      },
      '/v1/admin/models/{version}/activate': {
        post: {
          summary: 'Make a model the active one',
          security: [{ apiKey: [] }],
          parameters: [idPath('version', 'The model version')],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['version', 'status', 'serving'],
                properties: {
                  version: { type: 'string' },
                  status: { const: 'active' },
                  serving: { type: ['string', 'null'] },
                },
              },
              'Activated; this process serves it now, others within moments',
            ),
            '202': json(
              {
                type: 'object',
                required: ['version', 'status', 'serving'],
                properties: {
                  version: { type: 'string' },
                  status: { const: 'activating' },
                  serving: { type: ['string', 'null'] },
                },
              },
              'Active in the registry; this process is still loading it (serving is the version it serves until then)',
            ),
            ...keyed,
            '404': err('No such model'),
            '503': err('The relational store is unavailable'),
          },
        },
      },
    },
  };
}

/**
 * Errors that become HTTP answers: status, a stable machine-readable code and a message,
 * serialized as {error: {code, message, details?}} (DESIGN.md §5). Anything else thrown by
 * a handler is a bug or an outage and becomes a 500/503 without leaking internals.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new HttpError(400, code, message, details);

export const notFound = (code: string, message: string) => new HttpError(404, code, message);

/** A store the request needs is down (circuit open, timeout, connection refused). */
export const unavailable = (message: string) => new HttpError(503, 'store_unavailable', message);

const REASONS: Record<number, string> = {
  200: 'OK',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** uWS wants the whole status line ("404 Not Found"); computed once per status. */
const STATUS_LINES = new Map(
  Object.entries(REASONS).map(([code, reason]) => [Number(code), `${code} ${reason}`]),
);

export function statusLine(status: number): string {
  return STATUS_LINES.get(status) ?? String(status);
}

export function errorBody(code: string, message: string, details?: unknown): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}

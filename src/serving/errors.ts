/**
 * Errors that become HTTP answers: status, a stable machine-readable code and a message,
 * serialized as {error: {code, message, details?}} (DESIGN.md §5). Anything else thrown by
 * a handler is a bug or an outage and becomes a 500/503 without leaking internals.
 */
import { STATUS_CODES } from 'node:http';

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

/** uWS wants the whole status line ("404 Not Found"); each computed once, from Node's table. */
const STATUS_LINES = new Map<number, string>();

export function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

export function errorBody(code: string, message: string, details?: unknown): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}

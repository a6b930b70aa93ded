/**
 * CORS: which origins may call the API from a browser. No configured origins means no CORS
 * headers at all (same-origin only); "*" allows any origin without credentials.
 */

export const CORS_ALLOW_HEADERS = 'content-type, x-api-key';
export const CORS_ALLOW_METHODS = 'GET, POST, OPTIONS';

export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    this.origins = new Set(origins.filter((o) => o !== '*').map((o) => o.replace(/\/+$/, '')));
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  /** The Access-Control-Allow-Origin value for a request's Origin header, or null. */
  allow(origin: string): string | null {
    if (origin === '') return null;
    if (this.any) return '*';
    return this.origins.has(origin) ? origin : null;
  }
}

/**
 * Loads the native uWebSockets.js binary directly. The package's own entry point quietly
 * falls back to a JavaScript imitation (tens of times slower) when the binary does not
 * load; a serving process on that fallback would miss every latency target without saying
 * why, so this module refuses to start instead and names the binary it looked for.
 */

import type * as Uws from 'uWebSockets.js';
import { createRequire } from 'node:module';
import path from 'node:path';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
export type UwsModule = typeof Uws;

export class UwsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`uWebSockets.js native binary unavailable: ${message}`, options);
    this.name = 'UwsUnavailableError';
  }
}

export function loadUws(): UwsModule {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  } catch (cause) {
    throw new UwsUnavailableError('the uWebSockets.js package is not installed (npm install)', { cause });
  }
  const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const file = path.join(dir, 'binaries', name);
  let uws: UwsModule;
  try {
    uws = require(file) as UwsModule;
  } catch (cause) {
    throw new UwsUnavailableError(
      `no binary for ${process.platform}-${process.arch} and Node ABI ${process.versions.modules} ` +
        `(Node ${process.version}); looked for ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (typeof uws.App !== 'function' || typeof uws.us_listen_socket_close !== 'function') {
    throw new UwsUnavailableError(`${file} loaded but does not export App / us_listen_socket_close`);
  }
  return uws;
}

/**
 * The serving role: startServer, and the L1 entry format other layers may write. The messages
 * the layers exchange (events, user updates, model activations) live in src/events.
 */
export type { Source } from './answers.js';
export { encodeCandidates, l1Key } from './l1-cache.js';
export {
  PortUnavailableError,
  type RunningServer,
  type ServerDeps,
  type ServerOptions,
  startServer,
} from './server.js';
export { UwsUnavailableError } from './uws.js';

/** The serving role: startServer, and the messages other layers publish to it. */
export type { Source } from './answers.js';
export { encodeCandidates, l1Key } from './l1-cache.js';
export type { InteractionMessage } from './routes/events.js';
export { type RunningServer, type ServerDeps, type ServerOptions, startServer } from './server.js';
export {
  encodeUserUpdate,
  parseUserUpdate,
  USER_UPDATES_CHANNEL,
  type UserUpdateMessage,
} from './user-updates.js';
export { UwsUnavailableError } from './uws.js';

/**
 * The contracts every layer shares (DESIGN.md §4, §7), owned by none of them: the event — its
 * types, field rules, JSON Schema validator, normalization, bus codec and type weights — the
 * user-update message and the model channel.
 */
export { type DecodedEvent, decodeEvent, type EventMessage, encodeEvent } from './codec.js';
export { newEventId } from './event-ids.js';
export { MODEL_CHANNEL } from './model-channel.js';
export {
  eventTimeMs,
  FLOAT32_MAX,
  ID_PATTERN,
  isDateTime,
  isEventTime,
  isFloat32,
  isUuid,
  isValidId,
  MAX_EPOCH_MS,
  MAX_ID_LENGTH,
  MIN_EVENT_TIME_MS,
} from './rules.js';
export { type EventSlot, newEventSlot, scanEvent } from './scan.js';
export { type Ajv, createAjv, describeErrors, eventSchema, float32Schema, idSchema } from './schema.js';
export {
  DEFAULT_EVENT_WEIGHTS,
  EVENT_TYPES,
  type EventInput,
  type EventType,
  type EventWeights,
  type InteractionEvent,
  isEventType,
} from './types.js';
export {
  encodeProfileUpdates,
  encodeUserUpdate,
  PROFILE_UPDATES_PER_MESSAGE,
  parseUserUpdate,
  parseUserUpdates,
  USER_UPDATES_CHANNEL,
  type UserUpdateMessage,
} from './user-updates.js';
export {
  checkBusEvent,
  checkEvent,
  EVENT_REJECT_REASONS,
  type EventCheck,
  type EventRejection,
  type EventRejectReason,
  normalizeEvent,
} from './validate.js';
export { eventWeight, formatEventWeights, type ParsedEventWeights, parseEventWeights } from './weights.js';

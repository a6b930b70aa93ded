/**
 * The cache pub/sub channel that announces a model activation. The registry publishes the
 * activated version on it (src/model/registry.ts); every process holding an active model
 * (src/model/active.ts) reloads from the registry when a message arrives, whatever it says, and
 * also polls, so a lost message only delays the switch.
 */
export const MODEL_CHANNEL = 'recsys:model';

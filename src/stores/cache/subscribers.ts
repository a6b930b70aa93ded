/** Handler bookkeeping shared by both cache adapters: channel → handlers, with safe dispatch. */
import type { Logger } from '../../logger.js';
import type { MessageHandler } from './port.js';

export class Subscribers {
  private readonly byChannel = new Map<string, Set<MessageHandler>>();

  constructor(private readonly logger: Logger) {}

  /** Adds a handler; true when it is the channel's first (the adapter must subscribe). */
  add(channel: string, handler: MessageHandler): boolean {
    let set = this.byChannel.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.byChannel.set(channel, set);
    }
    set.add(handler);
    return first;
  }

  /** Removes a handler; true when the channel has none left (the adapter may unsubscribe). */
  remove(channel: string, handler: MessageHandler): boolean {
    const set = this.byChannel.get(channel);
    if (!set?.delete(handler)) return false;
    if (set.size > 0) return false;
    this.byChannel.delete(channel);
    return true;
  }

  channels(): string[] {
    return [...this.byChannel.keys()];
  }

  dispatch(channel: string, message: string): void {
    for (const handler of this.byChannel.get(channel) ?? []) {
      try {
        handler(message, channel);
      } catch (err) {
        // One faulty subscriber must not break delivery to the others, nor the connection.
        this.logger.error({ err, channel }, 'cache subscriber threw');
      }
    }
  }

  clear(): void {
    this.byChannel.clear();
  }
}

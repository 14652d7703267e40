/**
 * Shopper events for the fleet: counts, ids and timings only. No image, landmark, box, embedding
 * or anything else derived from a face ever goes into an event (the privacy rule): a session is
 * "a face was in front of the mirror", identified by a random id that means nothing afterwards.
 *
 *   session.start   { sessionId }
 *   session.end     { sessionId, dwellMs, productsTried, looksSaved, reason: "idle" | "shutdown" }
 *   product.tried   { sessionId, productId, shadeId }    once per product and shade the shopper chose
 *   look.saved      { sessionId, lookId, products, productIds }   lookId: the saved look's id (tryon/saved-look.ts)
 *
 * A session starts on the first frame with a face, or on the shopper's first touch on the kiosk
 * (someone tapping is there, even when the camera does not see them), and ends once neither has
 * happened for `idleTimeoutMs`; its dwell time runs from the first to the last sign of them.
 * `product.tried` counts what the shopper chose (tryon/selection.ts), not what was on the frame:
 * the catalog's default, shown before anyone chose, is not "tried".
 */
import { randomUUID } from 'node:crypto';
import { encodeMessage, type EventData as TypedEventData, type EventMessage, type EventType } from '../../fleet/protocol/schemas.ts';
import type { Logger } from '../core/logger.ts';

export type EventData = NonNullable<EventMessage['data']>;

/** Event types and their data are the protocol's (fleet/protocol/schemas.ts), validated on both ends. */
export interface EventSink {
  /** The type's data; extra flat keys travel along (the fleet reads only the type's own). */
  emit<T extends EventType>(type: T, data: TypedEventData<T> & EventData): void;
}

export { EVENT_TYPES } from '../../fleet/protocol/schemas.ts';

/**
 * Builds validated event messages and hands them to `send` (the durable outbox).
 * A message that fails validation is logged and dropped, never sent half-formed.
 */
export function createEventPublisher(options: {
  deviceId: string;
  send: (payload: Buffer, message: EventMessage) => void;
  logger: Logger;
  now?: () => number;
}): EventSink {
  const now = options.now ?? Date.now;
  return {
    emit(type, data) {
      const msg: EventMessage = {
        v: 1,
        msgId: randomUUID(),
        deviceId: options.deviceId,
        ts: Math.round(now()),
        type,
        ...(data === undefined ? {} : { data }),
      };
      const enc = encodeMessage('event', msg);
      if (!enc.ok) {
        options.logger.error({ type, field: enc.field, error: enc.error }, 'event failed validation; dropped');
        return;
      }
      try {
        options.send(enc.payload, msg);
      } catch (err) {
        options.logger.error({ type, err: (err as Error).message }, 'event could not be queued');
      }
    },
  };
}

export interface SessionTrackerOptions {
  idleTimeoutMs: number;
  sink: EventSink;
}

export interface SessionSnapshot {
  active: boolean;
  /** Sessions started since the daemon started. */
  sessions: number;
  productsTried: number;
  looksSaved: number;
}

/** Comma-separated ids, whole ones only, as many as fit in `max` characters (the protocol's text limit). */
function joinWithin(ids: readonly string[], max: number): string {
  let joined = '';
  for (const id of ids) {
    const next = joined ? `${joined},${id}` : id;
    if (next.length > max) break;
    joined = next;
  }
  return joined;
}

export class SessionTracker {
  /** Writable: a config reload changes it without ending the session in progress. */
  idleTimeoutMs: number;
  readonly #sink: EventSink;
  #session: { id: string; startedAt: number; lastSeenAt: number; tried: Set<string>; looks: number } | null = null;
  #sessions = 0;
  #productsTried = 0;
  #looksSaved = 0;
  readonly #endListeners = new Set<(reason: 'idle' | 'shutdown') => void>();

  constructor(options: SessionTrackerOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.#sink = options.sink;
  }

  /** One processed frame: whether a face is in it. */
  observe(faceCount: number, at: number): void {
    if (faceCount > 0) this.present(at);
    else this.tick(at);
  }

  /** A sign of a shopper (a face, a touch on the kiosk): starts a session or keeps it going. */
  present(at: number): void {
    this.tick(at);
    if (!this.#session) {
      this.#session = { id: randomUUID(), startedAt: at, lastSeenAt: at, tried: new Set(), looks: 0 };
      this.#sessions += 1;
      this.#sink.emit('session.start', { sessionId: this.#session.id });
    }
    this.#session.lastSeenAt = at;
  }

  /** The shopper chose a product and shade: `product.tried` once per pair per session. */
  tried(productId: string, shadeId: string, at: number): void {
    this.present(at);
    const s = this.#session!;
    const key = `${productId}/${shadeId}`;
    if (s.tried.has(key)) return;
    s.tried.add(key);
    this.#productsTried += 1;
    this.#sink.emit('product.tried', { sessionId: s.id, productId, shadeId });
  }

  /** Ends the session once the shopper has been absent for the idle timeout. */
  tick(at: number): void {
    const s = this.#session;
    if (s && at - s.lastSeenAt >= this.idleTimeoutMs) this.#end('idle');
  }

  /** The kiosk's "save my look": `lookId` is the saved look's id, `productIds` what it holds. */
  lookSaved(lookId: string, productIds: readonly string[], at: number): void {
    this.present(at);
    const s = this.#session!;
    s.looks += 1;
    this.#looksSaved += 1;
    this.#sink.emit('look.saved', {
      sessionId: s.id,
      lookId,
      products: productIds.length,
      productIds: joinWithin(productIds, 256),
    });
  }

  /** Hears every session end (the shopper's selection is wiped then). */
  onEnd(listener: (reason: 'idle' | 'shutdown') => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  /** Daemon stop: the session ends now (its dwell time up to the last face seen). */
  stop(): void {
    if (this.#session) this.#end('shutdown');
  }

  snapshot(): SessionSnapshot {
    return { active: this.#session !== null, sessions: this.#sessions, productsTried: this.#productsTried, looksSaved: this.#looksSaved };
  }

  #end(reason: 'idle' | 'shutdown'): void {
    const s = this.#session!;
    this.#session = null;
    this.#sink.emit('session.end', {
      sessionId: s.id,
      dwellMs: Math.max(0, Math.round(s.lastSeenAt - s.startedAt)),
      productsTried: s.tried.size,
      looksSaved: s.looks,
      reason,
    });
    for (const listener of this.#endListeners) listener(reason);
  }
}

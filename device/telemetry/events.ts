/**
 * Shopper events for the fleet: counts, ids and timings only. No image, landmark, box, embedding
 * or anything else derived from a face ever goes into an event (the privacy rule): a session is
 * "a face was in front of the mirror", identified by a random id that means nothing afterwards.
 *
 *   session.start   { sessionId }
 *   session.end     { sessionId, dwellMs, productsTried, looksSaved, reason: "idle" | "shutdown" }
 *   product.tried   { sessionId, productId }              once per product per session
 *   look.saved      { sessionId, lookId, products, productIds }   (the kiosk flow comes later)
 *
 * A session starts on the first frame with a face and ends once no face has been seen for
 * `idleTimeoutMs`; its dwell time runs from the first to the last frame with a face.
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

export class SessionTracker {
  /** Writable: a config reload changes it without ending the session in progress. */
  idleTimeoutMs: number;
  readonly #sink: EventSink;
  #session: { id: string; startedAt: number; lastSeenAt: number; tried: Set<string>; looks: number } | null = null;
  #sessions = 0;
  #productsTried = 0;
  #looksSaved = 0;

  constructor(options: SessionTrackerOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.#sink = options.sink;
  }

  /** One processed frame: whether a face is in it, and the product ids rendered on it. */
  observe(faceCount: number, applied: readonly string[], at: number): void {
    this.tick(at);
    if (faceCount <= 0) return;
    if (!this.#session) {
      this.#session = { id: randomUUID(), startedAt: at, lastSeenAt: at, tried: new Set(), looks: 0 };
      this.#sessions += 1;
      this.#sink.emit('session.start', { sessionId: this.#session.id });
    }
    const s = this.#session;
    s.lastSeenAt = at;
    for (const productId of applied) {
      if (s.tried.has(productId)) continue;
      s.tried.add(productId);
      this.#productsTried += 1;
      this.#sink.emit('product.tried', { sessionId: s.id, productId });
    }
  }

  /** Ends the session once the shopper has been absent for the idle timeout. */
  tick(at: number): void {
    const s = this.#session;
    if (s && at - s.lastSeenAt >= this.idleTimeoutMs) this.#end('idle');
  }

  /** The kiosk's "save look" (declared here; the UI flow arrives with its issue). */
  saveLook(productIds: readonly string[]): string | null {
    const s = this.#session;
    if (!s) return null;
    const lookId = randomUUID();
    s.looks += 1;
    this.#looksSaved += 1;
    this.#sink.emit('look.saved', {
      sessionId: s.id,
      lookId,
      products: productIds.length,
      productIds: productIds.join(',').slice(0, 256),
    });
    return lookId;
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
  }
}

import { io, type Socket } from 'socket.io-client';
import type {
  AdvisorEventMessage,
  CatalogMessage,
  ClientToServerEvents,
  FrameMessage,
  KioskDisplayMessage,
  KioskWelcomeMessage,
  LookSaveAck,
  TryOnAck,
  TryOnStateMessage,
  PaintedMessage,
  StatsMessage,
  ServerToClientEvents,
  SourceStatusMessage,
} from '../../../device/transport/events.ts';

export type KioskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

/** Try-on commands (kiosk → daemon), each acknowledged with a TryOnAck. */
export type TryOnCommand = 'tryon:set' | 'tryon:remove' | 'tryon:clear' | 'tryon:look' | 'tryon:compare';
export type TryOnPayload<E extends TryOnCommand> = Parameters<ClientToServerEvents[E]>[0];

/** A command the daemon did not answer in time is reported as this (the render stays as it was). */
const COMMAND_TIMEOUT_MS = 4000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/**
 * The kiosk's one socket to the daemon (same origin, default `/socket.io` path).
 * It reconnects forever with socket.io's jittered exponential backoff, including after the
 * daemon closed the connection on purpose (a restart), which socket.io would otherwise not retry.
 */
export class Connection {
  state = $state<ConnectionState>('connecting');
  /** Reconnection attempts since the last good connection. */
  attempts = $state(0);
  /** The daemon's own numbers, once a second. */
  stats = $state.raw<StatsMessage | null>(null);
  lastError = $state.raw<string | null>(null);
  /** The camera as the daemon sees it (sent on connection and on every change). */
  source = $state.raw<SourceStatusMessage | null>(null);
  /** The serving catalog (on connect and on every catalog switch). */
  catalog = $state.raw<CatalogMessage | null>(null);
  /** What the shopper has on, as the daemon last said (newest revision wins). */
  tryOn = $state.raw<TryOnStateMessage | null>(null);
  /** The beauty advisor's reading of the shopper (null: nobody read, or the shopper left). */
  advisor = $state.raw<AdvisorEventMessage>(null);
  /** No touch for this long resets the kiosk (the daemon's kiosk.idleTimeoutMs). */
  idleTimeoutMs = $state(DEFAULT_IDLE_TIMEOUT_MS);
  /** Was connected once and lost it: the mirror is restarting rather than starting. */
  wasConnected = $state(false);
  readonly cameraLost = $derived(this.state === 'connected' && this.source?.state === 'lost');

  readonly connected = $derived(this.state === 'connected');

  readonly #socket: KioskSocket;
  /** Where frames are painted, re-sent on every (re)connection. */
  #display: KioskDisplayMessage | null = null;
  // A plain listener registry, not UI state: frames bypass reactivity on purpose.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #frameListeners = new Set<(frame: FrameMessage, done: () => void) => void>();

  constructor(url?: string) {
    const options = {
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 250,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      // Frames are binary: websocket carries them as-is; long-polling stays as a fallback.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
    };
    this.#socket = url ? io(url, options) : io(options);
    const socket = this.#socket;
    const manager = socket.io;

    socket.on('connect', () => {
      this.state = 'connected';
      this.wasConnected = true;
      this.attempts = 0;
      this.lastError = null;
      if (this.#display) socket.emit('kiosk:display', this.#display);
    });
    socket.on('disconnect', (reason) => {
      // The daemon sends its current reading again on reconnect; none lingers meanwhile.
      this.advisor = null;
      this.state = 'reconnecting';
      this.stats = null;
      this.source = null;
      this.tryOn = null;
      // A server-side disconnect is final for socket.io; a mirror must come back by itself.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      this.state = 'reconnecting';
      this.lastError = err.message;
    });
    manager.on('reconnect_attempt', (attempt) => {
      this.attempts = attempt;
    });

    socket.on('stats', (stats) => {
      if (isStats(stats)) this.stats = stats;
    });
    socket.on('sourceStatus', (status) => {
      if (isSourceStatus(status)) this.source = status;
    });
    socket.on('welcome', (welcome) => {
      if (isWelcome(welcome)) this.idleTimeoutMs = welcome.idleTimeoutMs;
    });
    socket.on('catalog', (catalog) => {
      if (isCatalog(catalog)) this.catalog = catalog;
    });
    socket.on('tryon:state', (state) => this.#acceptState(state));
    socket.on('advisor', (reading) => {
      this.advisor = isAdvisor(reading) ? reading : null;
    });
    socket.on('frame', (frame, received) => {
      // The acknowledgement releases the next frame to this kiosk: the listener gives it once the
      // glass is ready for another (after the paint), so the daemon sends no faster than it paints.
      let acked = false;
      const done = () => {
        if (acked) return;
        acked = true;
        if (typeof received === 'function') received();
      };
      if (!isFrame(frame) || this.#frameListeners.size === 0) return done();
      for (const listener of this.#frameListeners) listener(frame, done);
    });
  }

  /**
   * Frames are handed straight to the painter, not through reactive state: only the newest matters.
   * `done` acknowledges the frame to the daemon (once; further calls do nothing): call it when the
   * glass is ready for the next frame. Until then the daemon sends this kiosk nothing (up to
   * FRAME_ACK_TIMEOUT_MS).
   */
  onFrame(listener: (frame: FrameMessage, done: () => void) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  /** Staff confirmations (debug capture consent); lib/service/ shows them. */
  onStaffConfirm(ask: (request: unknown, reply: unknown) => void, close: (id?: string) => void): void {
    this.#socket.on('confirm', ask);
    this.#socket.on('confirmClosed', (msg) => close(typeof msg?.id === 'string' ? msg.id : undefined));
    this.#socket.on('disconnect', () => close());
  }

  /** Tells the daemon where frames are painted (device pixels), now and on every reconnection. */
  reportDisplay(display: KioskDisplayMessage): void {
    this.#display = display;
    if (this.#socket.connected) this.#socket.emit('kiosk:display', display);
  }

  /** Volatile: nothing is buffered while disconnected. */
  painted(msg: PaintedMessage): void {
    if (this.#socket.connected) this.#socket.volatile.emit('painted', msg);
  }

  /** Sends a try-on command; a missing answer becomes an error naming the command, never a throw. */
  async command<E extends TryOnCommand>(event: E, payload: TryOnPayload<E>): Promise<TryOnAck> {
    if (!this.#socket.connected) return { ok: false, error: { field: event, message: 'the mirror is reconnecting' } };
    try {
      // socket.io's typed emitWithAck cannot narrow over a union of event names.
      const socket = this.#socket.timeout(COMMAND_TIMEOUT_MS);
      const emit = socket.emitWithAck.bind(socket) as (e: E, p: TryOnPayload<E>) => Promise<unknown>;
      const ack = await emit(event, payload);
      if (!isAck(ack)) return { ok: false, error: { field: event, message: 'unexpected answer from the mirror' } };
      if (ack.ok) this.#acceptState(ack.state);
      return ack;
    } catch {
      return { ok: false, error: { field: event, message: 'the mirror did not answer' } };
    }
  }

  async saveLook(): Promise<LookSaveAck> {
    if (!this.#socket.connected) return { ok: false, error: { field: 'look:save', message: 'the mirror is reconnecting' } };
    try {
      const ack = (await this.#socket.timeout(COMMAND_TIMEOUT_MS).emitWithAck('look:save', {})) as LookSaveAck | null;
      if (ack?.ok === true && typeof ack.lookId === 'string' && typeof ack.url === 'string') return ack;
      if (ack?.ok === false && typeof ack.error?.message === 'string') return ack;
      return { ok: false, error: { field: 'look:save', message: 'unexpected answer from the mirror' } };
    } catch {
      return { ok: false, error: { field: 'look:save', message: 'the mirror did not answer' } };
    }
  }

  #acceptState(state: unknown): void {
    if (!isTryOnState(state)) return;
    if (this.tryOn && state.revision < this.tryOn.revision) return; // an older answer overtaken by a broadcast
    this.tryOn = state;
  }

  close(): void {
    this.#frameListeners.clear();
    this.#socket.disconnect();
  }
}

/** Events cross a process boundary: check the shape before anything draws with it. */
function isFrame(value: unknown): value is FrameMessage {
  const f = value as FrameMessage | null;
  return (
    typeof f === 'object' &&
    f !== null &&
    Number.isFinite(f.id) &&
    Number.isFinite(f.capturedAt) &&
    f.width > 0 &&
    f.height > 0 &&
    (f.image instanceof ArrayBuffer || ArrayBuffer.isView(f.image)) &&
    Array.isArray(f.faces)
  );
}

function isSourceStatus(value: unknown): value is SourceStatusMessage {
  const s = value as SourceStatusMessage | null;
  return typeof s === 'object' && s !== null && (s.state === 'live' || s.state === 'lost');
}

function isStats(value: unknown): value is StatsMessage {
  const s = value as StatsMessage | null;
  return typeof s === 'object' && s !== null && typeof s.fps === 'number';
}

function isWelcome(value: unknown): value is KioskWelcomeMessage {
  const w = value as KioskWelcomeMessage | null;
  return typeof w === 'object' && w !== null && Number.isFinite(w.idleTimeoutMs) && w.idleTimeoutMs >= 1000;
}

function isAdvisor(value: unknown): value is NonNullable<AdvisorEventMessage> {
  const a = value as NonNullable<AdvisorEventMessage> | null;
  return typeof a === 'object' && a !== null && typeof a.monk === 'number' && typeof a.undertone === 'string' && Array.isArray(a.matches) && Array.isArray(a.recommendations);
}

function isCatalog(value: unknown): value is CatalogMessage {
  const c = value as CatalogMessage | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    Array.isArray(c.products) &&
    Array.isArray(c.looks) &&
    c.products.every((p) => typeof p?.id === 'string' && typeof p.category === 'string' && Array.isArray(p.shades)) &&
    c.looks.every((l) => typeof l?.id === 'string' && Array.isArray(l.items))
  );
}

function isTryOnState(value: unknown): value is TryOnStateMessage {
  const s = value as TryOnStateMessage | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    Array.isArray(s.items) &&
    Number.isFinite(s.revision) &&
    (s.compare === null || typeof s.compare === 'number') &&
    s.items.every((i) => typeof i?.productId === 'string' && typeof i.shadeId === 'string' && typeof i.intensity === 'number')
  );
}

function isAck(value: unknown): value is TryOnAck {
  const a = value as TryOnAck | null;
  if (typeof a !== 'object' || a === null) return false;
  return a.ok === true ? isTryOnState(a.state) : a.ok === false && typeof a.error?.message === 'string';
}

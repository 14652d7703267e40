import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  FrameMessage,
  PaintedMessage,
  StatsMessage,
  ServerToClientEvents,
  SourceStatusMessage,
} from '../../../device/transport/events.ts';

export type KioskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

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
  readonly cameraLost = $derived(this.state === 'connected' && this.source?.state === 'lost');

  readonly connected = $derived(this.state === 'connected');

  readonly #socket: KioskSocket;
  // A plain listener registry, not UI state: frames bypass reactivity on purpose.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #frameListeners = new Set<(frame: FrameMessage) => void>();

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
      this.attempts = 0;
      this.lastError = null;
    });
    socket.on('disconnect', (reason) => {
      this.state = 'reconnecting';
      this.stats = null;
      this.source = null;
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
    socket.on('frame', (frame, received) => {
      // Acknowledge on arrival, before decoding: it releases the next frame to this kiosk.
      if (typeof received === 'function') received();
      if (!isFrame(frame)) return;
      for (const listener of this.#frameListeners) listener(frame);
    });
  }

  /** Frames are handed straight to the painter, not through reactive state: only the newest matters. */
  onFrame(listener: (frame: FrameMessage) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  /** Staff confirmations (debug capture consent); lib/service/ shows them. */
  onStaffConfirm(ask: (request: unknown, reply: unknown) => void, close: (id?: string) => void): void {
    this.#socket.on('confirm', ask);
    this.#socket.on('confirmClosed', (msg) => close(typeof msg?.id === 'string' ? msg.id : undefined));
    this.#socket.on('disconnect', () => close());
  }

  /** Volatile: nothing is buffered while disconnected. */
  painted(msg: PaintedMessage): void {
    if (this.#socket.connected) this.#socket.volatile.emit('painted', msg);
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

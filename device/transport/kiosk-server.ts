/**
 * The kiosk's only connection: HTTP for the built UI and /healthz, socket.io for frames.
 * Loopback by default. Each client has one frame in flight: it gets the next frame only after it
 * acknowledged the last (or after a timeout), so a slow browser always gets the newest frame and
 * never a backlog. The kiosk acknowledges a frame once it is painted; a frame encoded while the
 * client's acknowledgement was due (see `wantsFrame`) waits for it and goes out the moment it
 * comes, replaced by any newer frame meanwhile and dropped when older than WAIT_MAX_MS by then.
 *
 * Length: startKioskServer (~175 lines) is one closure because the HTTP handler, the socket.io
 * server and the per-client frame flow share the listening server and the origin policy; its
 * thirteen inner functions are at most 43 lines. Other per-client traffic (the try-on commands,
 * transport/tryon-commands.ts) plugs in through `onClient` and lives in its own module.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server, type Socket } from 'socket.io';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { EncodedFrame } from '../pipeline.ts';
import { FRAME_ACK_TIMEOUT_MS, type ClientToServerEvents, type ConfirmRequest, type FrameMessage, type KioskDisplayMessage, type KioskWelcomeMessage, type ServerToClientEvents, type SourceStatusMessage, type StatsMessage } from './events.ts';
import { toFrameMessage } from './frame-message.ts';
import type { Logger } from '../core/logger.ts';
import { createOriginPolicy, type OriginPolicy } from './origin-policy.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

const Painted = z.strictObject({ id: z.number().int().positive(), paintedAt: z.number().positive() });
const Answer = z.strictObject({ id: z.string(), allow: z.boolean() });
const Display = z.strictObject({
  width: z.number().int().min(1).max(16384),
  height: z.number().int().min(1).max(16384),
  devicePixelRatio: z.number().min(0.1).max(16),
});


/** The path below the UI root, or null when its percent-encoding is malformed. */
function decodePath(pathname: string): string | null {
  try {
    return decodeURIComponent(pathname).replace(/^\/+/, '');
  } catch {
    return null;
  }
}

export interface KioskServerOptions {
  host: string;
  port: number;
  uiDir: string;
  /** Browser origins allowed besides the server's own (http://127.0.0.1:PORT, localhost, [::1]). */
  allowedOrigins: readonly string[];
  /** The kiosk's settings, sent to each client on connect. */
  welcome: KioskWelcomeMessage;
  health: () => object;
  /** Prometheus exposition for /metrics (a prom-client Registry); without it /metrics is 404. */
  metrics?: { contentType: string; metrics(): Promise<string> };
  /** A frame this server sent was painted by a kiosk (for capture-to-paint latency). */
  onPainted: (capturedAt: number, paintedAt: number) => void;
  /** A kiosk said where it paints frames (device pixels), on connect and on every change. */
  onDisplay?: (display: KioskDisplayMessage) => void;
  logger: Logger;
}

/** Per-client flow control: one frame in flight, released by the client's receipt. */
interface ClientFlow {
  awaitingReceipt: boolean;
  /** The newest frame encoded while this client's receipt was due, sent when it comes. */
  waiting: EncodedFrame | null;
  /** When `waiting` was queued (ms, performance clock). */
  waitingSince: number;
  /** When the frame in flight was sent (ms, performance clock). */
  sentAt: number;
  /** How long this client has recently taken to acknowledge a frame (moving average, ms). */
  receiptMs: number;
}

/** Weight of the newest receipt time in a client's moving average. */
const RECEIPT_WEIGHT = 0.25;
/**
 * A frame that waited longer than this for its client's receipt is dropped rather than sent late:
 * the next frame through the pipeline is at most a camera frame interval away and newer.
 */
const WAIT_MAX_MS = 50;

/** One kiosk connection, as `onClient` hands it out. */
export type KioskSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, ClientFlow>;

export interface KioskServer {
  readonly port: number;
  readonly clients: number;
  /** Frames not sent to a client because it had not yet received the previous one. */
  readonly skippedFrames: number;
  /** The mirror's box on the glass as the last kiosk reported it (device pixels), null before any did. */
  readonly display: KioskDisplayMessage | null;
  /**
   * Would a frame emitted `withinMs` from now reach anyone: true when no client is connected (the
   * debug tap and the metrics still take emitted frames), or some client has received its last
   * frame or is expected to by then (its recent receipt time says so). The pipeline asks before
   * encoding, so a frame every kiosk would skip is not encoded at all.
   */
  wantsFrame(withinMs: number): boolean;
  emitFrame(frame: EncodedFrame): void;
  /** A frame the pipeline did not encode because `wantsFrame` was false: counted as skipped by each busy client. */
  skipFrame(): void;
  emitStats(stats: StatsMessage): void;
  /** Sent to every client now, and to each one that connects later. */
  emitSourceStatus(status: SourceStatusMessage): void;
  /** Runs `setup` for every client connected now and each one that connects later. */
  onClient(setup: (socket: KioskSocket) => void): void;
  /** Asks the kiosk screen(s); the first valid answer wins, no answer within timeoutMs is 'timeout'. */
  confirm(prompt: Omit<ConfirmRequest, 'id'>): Promise<'allow' | 'deny' | 'timeout' | 'no-kiosk'>;
  close(): Promise<void>;
}

export async function startKioskServer(options: KioskServerOptions): Promise<KioskServer> {
  const uiRoot = path.resolve(options.uiDir);
  // Set once listening (the port may be ephemeral); no request is served before.
  let policy: OriginPolicy | null = null;
  let lastRefusalLogAt = 0;
  /** Why a request from a foreign host or origin is refused (logged, rate-limited), or null. */
  function refused(req: http.IncomingMessage): string | null {
    const reason = policy ? policy.refusal(req) : 'not listening yet';
    if (reason && Date.now() - lastRefusalLogAt > 10_000) {
      lastRefusalLogAt = Date.now();
      options.logger.warn({ url: req.url?.slice(0, 200), reason }, 'kiosk request refused');
    }
    return reason;
  }
  const httpServer = http.createServer((req, res) => {
    void handleHttp(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (refused(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/metrics' && options.metrics) {
      const body = await options.metrics.metrics();
      res.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(options.health()));
      return;
    }
    const relative = url.pathname === '/' ? 'index.html' : decodePath(url.pathname);
    if (relative === null) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad percent-encoding in path');
      return;
    }
    const file = path.resolve(uiRoot, relative);
    if (!file.startsWith(uiRoot + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      const missingUi = relative === 'index.html';
      res.writeHead(404, { 'content-type': 'text/plain' }).end(missingUi ? 'kiosk UI is not built: run npm run build:ui' : 'not found');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': relative === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  }

  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, ClientFlow>(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 16 * 1024,
    // JPEG does not compress; deflating it only costs CPU.
    perMessageDeflate: false,
    // Every handshake (polling and websocket) passes the same host and origin check as HTTP.
    allowRequest: (req, callback) => {
      const reason = refused(req);
      callback(reason, reason === null);
    },
  });
  let lastRejectLogAt = 0;
  /** A malformed event from a client changes nothing; it is logged, at most every 10 s. */
  function rejected(event: string, error: z.ZodError): void {
    if (Date.now() - lastRejectLogAt < 10_000) return;
    lastRejectLogAt = Date.now();
    const issue = error.issues[0];
    options.logger.warn({ event, field: issue.path.join('.') || '(root)', problem: issue.message }, 'socket event rejected');
  }
  let skippedFrames = 0;
  let display: KioskDisplayMessage | null = null;
  let sourceStatus: SourceStatusMessage | null = null;
  // Capture times of recent frames, so the kiosk's "painted" acks give capture-to-paint latency.
  const capturedAtById = new Map<number, number>();
  // Each encoded frame converted to its wire form once, however many clients it goes to.
  const wireForms = new WeakMap<EncodedFrame, FrameMessage>();

  /** Sends `encoded` to a client that has no frame in flight; its receipt releases the next. */
  function send(socket: KioskSocket, encoded: EncodedFrame): void {
    const flow = socket.data;
    flow.awaitingReceipt = true;
    flow.sentAt = performance.now();
    let frame = wireForms.get(encoded);
    if (!frame) wireForms.set(encoded, (frame = toFrameMessage(encoded)));
    // A receipt, or the timeout (which says the kiosk was stuck, not how fast it receives).
    socket.timeout(FRAME_ACK_TIMEOUT_MS).emit('frame', frame, (timedOut: Error | null) => {
      flow.awaitingReceipt = false;
      const now = performance.now();
      if (!timedOut) flow.receiptMs += RECEIPT_WEIGHT * (now - flow.sentAt - flow.receiptMs);
      const next = flow.waiting;
      flow.waiting = null;
      if (!next) return;
      if (now - flow.waitingSince <= WAIT_MAX_MS && socket.connected) send(socket, next);
      else skippedFrames++;
    });
  }
  const clientSetups: Array<(socket: KioskSocket) => void> = [];
  io.on('connection', (socket) => {
    socket.data.awaitingReceipt = false;
    socket.data.waiting = null;
    socket.data.waitingSince = 0;
    socket.data.sentAt = 0;
    socket.data.receiptMs = 0;
    socket.emit('welcome', options.welcome);
    if (sourceStatus) socket.emit('sourceStatus', sourceStatus);
    for (const setup of clientSetups) setup(socket);
    options.logger.info({ id: socket.id, clients: io.engine.clientsCount }, 'kiosk client connected');
    socket.on('painted', (msg) => {
      const parsed = Painted.safeParse(msg);
      if (parsed.success) {
        const capturedAt = capturedAtById.get(parsed.data.id);
        if (capturedAt !== undefined) options.onPainted(capturedAt, parsed.data.paintedAt);
        return;
      }
      rejected('painted', parsed.error);
    });
    socket.on('kiosk:display', (msg) => {
      const parsed = Display.safeParse(msg);
      if (!parsed.success) return rejected('kiosk:display', parsed.error);
      display = parsed.data;
      options.onDisplay?.(display);
    });
    socket.on('disconnect', (reason) => options.logger.info({ id: socket.id, reason }, 'kiosk client disconnected'));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  policy = createOriginPolicy(options.host, port, options.allowedOrigins);

  return {
    port,
    get clients() {
      return io.engine.clientsCount;
    },
    get skippedFrames() {
      return skippedFrames;
    },
    get display() {
      return display;
    },
    wantsFrame(withinMs) {
      const sockets = io.of('/').sockets;
      if (sockets.size === 0) return true;
      const now = performance.now();
      // Expected within the window, and not overdue by more than it (overdue: the kiosk is busy,
      // its receipt could come any time later); a frame already waiting for it is enough.
      for (const { data } of sockets.values()) {
        if (!data.awaitingReceipt) return true;
        if (!data.waiting && Math.abs(data.sentAt + data.receiptMs - now) <= withinMs) return true;
      }
      return false;
    },
    skipFrame() {
      for (const socket of io.of('/').sockets.values()) if (socket.data.awaitingReceipt) skippedFrames++;
    },
    emitFrame(encoded) {
      capturedAtById.set(encoded.id, encoded.capturedAt);
      if (capturedAtById.size > 120) capturedAtById.delete(capturedAtById.keys().next().value!);
      // Not a broadcast: a socket write succeeds long before a stalled browser reads it, so only
      // the client's own receipt says it is ready for the next frame.
      for (const socket of io.of('/').sockets.values()) {
        const flow = socket.data;
        if (!flow.awaitingReceipt) {
          send(socket, encoded);
          continue;
        }
        // Its receipt is due (the pipeline encoded this frame for it): the frame waits for it,
        // replacing an older one waiting, which is then skipped.
        if (flow.waiting) skippedFrames++;
        flow.waiting = encoded;
        flow.waitingSince = performance.now();
      }
    },
    emitStats(stats) {
      io.emit('stats', stats);
    },
    emitSourceStatus(status) {
      sourceStatus = status;
      io.emit('sourceStatus', status);
    },
    onClient(setup) {
      clientSetups.push(setup);
      for (const socket of io.of('/').sockets.values()) setup(socket);
    },
    async confirm(prompt) {
      const sockets = [...io.of('/').sockets.values()];
      if (sockets.length === 0) return 'no-kiosk';
      const request: ConfirmRequest = { ...prompt, id: randomUUID() };
      const outcome = await new Promise<'allow' | 'deny' | 'timeout'>((resolve) => {
        let open = sockets.length;
        for (const socket of sockets) {
          socket
            .timeout(prompt.timeoutMs)
            .emitWithAck('confirm', request)
            .then((raw) => {
              const answer = Answer.safeParse(raw);
              if (answer.success && answer.data.id === request.id) resolve(answer.data.allow ? 'allow' : 'deny');
              else if (--open === 0) resolve('timeout');
            })
            .catch(() => {
              if (--open === 0) resolve('timeout');
            });
        }
      });
      io.emit('confirmClosed', { id: request.id });
      return outcome;
    },
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        httpServer.closeAllConnections();
      });
    },
  };
}

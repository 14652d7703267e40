/**
 * A kiosk as the real one talks to the daemon: a socket.io client with the kiosk's origin that
 * acknowledges every frame, keeps the newest frames, the `catalog` and `tryon:state` messages, and
 * sends try-on commands with acks. Also measures the colour on the lips of a frame (the JPEG the
 * kiosk would paint, decoded), so a test can tell that a command changed the pixels, not only a list.
 */
import { converter, differenceCiede2000, type Lab65 } from 'culori';
import sharp from 'sharp';
import { io, type Socket } from 'socket.io-client';
import { LIPS_INNER, LIPS_OUTER } from '../../device/vision/regions.ts';
import type { CatalogMessage, ClientToServerEvents, FrameMessage, ServerToClientEvents, TryOnStateMessage } from '../../device/transport/events.ts';
import { until } from './until.ts';

const toLab = converter('lab65');

type KioskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TryOnKiosk {
  socket: KioskSocket;
  frames: FrameMessage[];
  catalogs: CatalogMessage[];
  states: TryOnStateMessage[];
  /** Any event with an ack; resolves with the daemon's answer. */
  send(event: string, ...args: unknown[]): Promise<{ ok: boolean; state?: TryOnStateMessage; error?: { field: string; message: string }; lookId?: string; url?: string }>;
  /** The first frame with a face captured after `after` (ms since the epoch) that passes `where`. */
  frameAfter(after: number, where?: (f: FrameMessage) => boolean): Promise<FrameMessage>;
  close(): void;
}

export async function connectKiosk(url: string): Promise<TryOnKiosk> {
  const socket: KioskSocket = io(url, { transports: ['websocket'], extraHeaders: { origin: url }, reconnection: false });
  const frames: FrameMessage[] = [];
  const catalogs: CatalogMessage[] = [];
  const states: TryOnStateMessage[] = [];
  socket.on('frame', (frame, received) => {
    received();
    frames.push(frame);
    if (frames.length > 60) frames.shift();
  });
  socket.on('catalog', (c) => catalogs.push(c));
  socket.on('tryon:state', (s) => states.push(s));
  // Commands are served from the moment the daemon sent the catalog (the kiosk has nothing to pick before).
  await until(() => (socket.connected && catalogs.length > 0 && states.length > 0) || undefined, { timeoutMs: 30_000, what: 'kiosk connected, catalog and state received' });
  return {
    socket,
    frames,
    catalogs,
    states,
    send: (event, ...args) => (socket.timeout(10_000) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<never> }).emitWithAck(event, ...args),
    frameAfter: (after, where = () => true) =>
      until(() => frames.find((f) => f.capturedAt > after && f.faces.length > 0 && where(f)), { timeoutMs: 30_000, what: 'a frame captured after the change' }),
    close: () => socket.close(),
  };
}

const inside = (poly: Array<[number, number]>, x: number, y: number): boolean => {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
};

/** Mean CIELAB (D65) of the lip ring (outer minus inner loop) of the frame's shopper, optionally only one side of x = `splitX`. */
export async function lipLab(frame: FrameMessage, side?: { splitX: number; keep: 'left' | 'right' }): Promise<Lab65> {
  const { data, info } = await sharp(Buffer.from(frame.image)).raw().toBuffer({ resolveWithObject: true });
  const lm = frame.faces[0].landmarks;
  const outer = LIPS_OUTER.map((i) => [lm[i][0], lm[i][1]] as [number, number]);
  const inner = LIPS_INNER.map((i) => [lm[i][0], lm[i][1]] as [number, number]);
  const xs = outer.map((p) => p[0]);
  const ys = outer.map((p) => p[1]);
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.floor(Math.min(...ys)); y <= Math.ceil(Math.max(...ys)); y++) {
    for (let x = Math.floor(Math.min(...xs)); x <= Math.ceil(Math.max(...xs)); x++) {
      if (!inside(outer, x + 0.5, y + 0.5) || inside(inner, x + 0.5, y + 0.5)) continue;
      if (side && (side.keep === 'left' ? x >= side.splitX - 1 : x <= side.splitX + 1)) continue;
      const p = (y * info.width + x) * info.channels;
      sum[0] += data[p];
      sum[1] += data[p + 1];
      sum[2] += data[p + 2];
      n++;
    }
  }
  if (n < 12) throw new Error(`only ${n} lip pixels`);
  return toLab({ mode: 'rgb', r: sum[0] / n / 255, g: sum[1] / n / 255, b: sum[2] / n / 255 });
}

export const deltaE = (a: Lab65, b: Lab65): number => differenceCiede2000()(a, b);

/** The x (frame pixels) of the shopper's mouth centre, and the compare split that puts the bare line there. */
export function mouthSplit(frame: FrameMessage): { splitX: number; split: number } {
  const lm = frame.faces[0].landmarks;
  const splitX = (lm[61][0] + lm[291][0]) / 2;
  // The kiosk mirrors: the displayed left `split` is the frame's right `split`.
  return { splitX, split: 1 - splitX / frame.width };
}

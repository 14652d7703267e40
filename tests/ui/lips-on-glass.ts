/**
 * What the shopper sees on their lips: the mean colour of the lip ring (outer lip contour minus
 * the mouth opening, a few pixels in from both edges) read from the kiosk's painted canvas, placed
 * with the face landmarks of the very frame that canvas shows (the frame message's own mesh,
 * mirrored and cover-fitted with the kiosk's geometry). The pixels are the composited glass
 * (glass-pixels.ts), so the compositor's fit and flip are what is judged.
 */
import { converter, differenceCiede2000, type Lab65 } from 'culori';
import type { Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, FrameMessage, ServerToClientEvents, TryOnStateMessage } from '../../device/transport/events.ts';
import { LIPS_INNER, LIPS_OUTER } from '../../device/vision/regions.ts';
import { coverFit, imageToScreen } from '../../ui/src/lib/geometry.ts';
import { readGlass } from './glass-pixels.ts';

type Point = [number, number];
const toLab = converter('lab65');
const ciede2000 = differenceCiede2000();

export const deltaE = (a: Lab65, b: Lab65): number => ciede2000(a, b);

/** A second kiosk client (real socket.io, acknowledging every frame) that remembers recent frames' meshes. */
export class MeshWatcher {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly #frames = new Map<number, { width: number; height: number; landmarks: FrameMessage['faces'][number]['landmarks'] }>();
  newestId = 0;
  state: TryOnStateMessage | null = null;

  constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'] });
    this.socket.on('frame', (frame, received) => {
      received();
      this.newestId = Math.max(this.newestId, frame.id);
      if (!frame.faces[0]) return;
      this.#frames.set(frame.id, { width: frame.width, height: frame.height, landmarks: frame.faces[0].landmarks });
      if (this.#frames.size > 240) this.#frames.delete(this.#frames.keys().next().value!);
    });
    this.socket.on('tryon:state', (state) => {
      if (!this.state || state.revision >= this.state.revision) this.state = state;
    });
  }

  mesh(id: number) {
    return this.#frames.get(id);
  }

  ids(): number[] {
    return [...this.#frames.keys()];
  }

  close(): void {
    this.socket.close();
  }
}

function inside(p: Point, poly: Point[]): boolean {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function distanceToEdges(p: Point, poly: Point[]): number {
  let best = Infinity;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [ax, ay] = poly[j];
    const [bx, by] = poly[i];
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy || 1)));
    best = Math.min(best, Math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy)));
  }
  return best;
}

export interface LipSample {
  frameId: number;
  lab: Lab65;
  pixels: number;
  /** The lips' horizontal extent on the glass (CSS px). */
  left: number;
  right: number;
}

/**
 * Only frames whose lips lie wholly on one side of a vertical line (the before/after handle):
 * `x` computes the line's screen x for a frame (its width, height) on the glass.
 */
export interface OneSide {
  side: 'left' | 'right';
  x: (frame: { width: number; height: number }, glass: { width: number; height: number }) => number;
}

/**
 * Waits for a painted frame with id >= `minId` whose mesh `watcher` has, and measures its lips.
 * `margin` px are kept off both lip edges so a mesh error of a few pixels cannot mix in skin or teeth.
 */
export async function sampleLips(page: Page, watcher: MeshWatcher, firstId: number, oneSide?: OneSide, margin = 4, timeoutMs = 30_000): Promise<LipSample> {
  const deadline = Date.now() + timeoutMs;
  let minId = firstId;
  const glass = await page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=mirror]')!;
    return { width: canvas.clientWidth, height: canvas.clientHeight };
  });
  while (Date.now() < deadline) {
    const known = watcher.ids();
    if (!known.length) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // Only the pixels around where the lips have been lately are read.
    const box = lipsBox(known.map((id) => watcher.mesh(id)!), glass);
    const shot = await readGlass(page, box, (id) => id >= minId && known.includes(id));
    if (!shot) continue;
    const sample = measure(shot.rgba, box, glass, shot.id, watcher.mesh(shot.id)!, margin, oneSide);
    if (sample) return sample;
    minId = shot.id + 1; // the lips straddled the line in that frame: the clip moves them, try the next
  }
  throw new Error(`no painted frame >= ${minId} with a known mesh${oneSide ? ` and the lips wholly ${oneSide.side} of the line` : ''} within ${timeoutMs} ms`);
}

type Mesh = NonNullable<ReturnType<MeshWatcher['mesh']>>;
type Box = { x: number; y: number; width: number; height: number };

function lipsOnGlass(mesh: Mesh, glass: { width: number; height: number }): { outer: Point[]; inner: Point[] } {
  const fit = coverFit(mesh.width, mesh.height, glass.width, glass.height);
  const project = (indices: readonly number[]): Point[] =>
    indices.map((i) => imageToScreen(fit, glass.width, mesh.landmarks[i][0], mesh.landmarks[i][1]));
  return { outer: project(LIPS_OUTER), inner: project(LIPS_INNER) };
}

function lipsBox(meshes: Mesh[], glass: { width: number; height: number }): Box {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const mesh of meshes) {
    for (const [x, y] of lipsOnGlass(mesh, glass).outer) {
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  const x = Math.max(0, Math.floor(x0) - 16);
  const y = Math.max(0, Math.floor(y0) - 16);
  return { x, y, width: Math.min(glass.width, Math.ceil(x1) + 16) - x, height: Math.min(glass.height, Math.ceil(y1) + 16) - y };
}

function measure(rgba: Buffer, box: Box, glass: { width: number; height: number }, frameId: number, mesh: Mesh, margin: number, oneSide?: OneSide): LipSample | null {
  const { outer, inner } = lipsOnGlass(mesh, glass);
  const xs = outer.map((p) => p[0]);
  const [left, right] = [Math.min(...xs), Math.max(...xs)];
  if (oneSide) {
    const x = oneSide.x(mesh, glass);
    if (oneSide.side === 'left' ? right > x : left < x) return null;
  }
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const p: Point = [box.x + x + 0.5, box.y + y + 0.5];
      if (!inside(p, outer) || inside(p, inner)) continue;
      if (distanceToEdges(p, outer) < margin || distanceToEdges(p, inner) < margin) continue;
      const o = (y * box.width + x) * 4;
      r += rgba[o];
      g += rgba[o + 1];
      b += rgba[o + 2];
      n++;
    }
  }
  if (n < 200) throw new Error(`only ${n} lip pixels on the glass for frame ${frameId}`);
  const lab = toLab({ mode: 'rgb', r: r / n / 255, g: g / n / 255, b: b / n / 255 })!;
  return { frameId, lab, pixels: n, left, right };
}

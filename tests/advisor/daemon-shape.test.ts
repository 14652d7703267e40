/**
 * The advisor's settled face shape places the blush the REAL daemon paints (child process, real
 * models): daemon.ts hands the advisor to the frame path, whose try-on stage asks it for the shape
 * (frame-path.ts), and the renderers place blush by it (tryon/render/shape-placement.ts).
 *
 * The clip: a real portrait (public domain, tests/fixtures/fairness) for 3 s, then the same photo
 * stretched 1.3x wide for 0.8 s, looped. The advisor settles on the portrait's shape; the stretched
 * frames' own mesh reads another shape (round), but they are too few to move the advisor's median
 * (15 analysed frames, 1 in 5 analysed), so the advisor's shape stands on them. Without the wiring
 * the renderer would fall back to each frame's own mesh.
 *
 * The check, on stretched frames where the two shapes differ: the kiosk's JPEG is compared with the
 * blush rendered here on the bare clip frame, with the daemon's own landmarks (from the frame
 * message), once with the advisor's shape and once with the frame's own; the daemon's picture must
 * be the advisor's one.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faceGeometry, faceShapeOf, type FaceShape } from '../../device/advisor/face-shape.ts';
import type { AdvisorMessage, FrameMessage } from '../../device/transport/events.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import { resolveItem } from '../../device/tryon/catalog/lookup.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { createRenderContext } from '../../device/tryon/render/context.ts';
import { RENDERERS } from '../../device/tryon/render/registry.ts';
import type { AppliedProduct } from '../../device/tryon/render/renderer.ts';
import type { Face } from '../../device/vision/face.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { connectKiosk, type TryOnKiosk } from '../helpers/tryon-kiosk.ts';
import { frameOf } from '../helpers/tryon.ts';
import { until } from '../helpers/until.ts';

const PHOTO = path.join(repoRoot, 'tests', 'fixtures', 'fairness', 'B001234.jpg');
const BLUSH = { productId: 'velour-cheek-tint', shadeId: 'berry-flush' };
const PORTRAIT_FRAMES = 90;
const STRETCHED_FRAMES = 24;

async function raw(input: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** The photo 440 px high (`widen` x as wide) on a mid-grey 640x480 frame, as a lossless PNG. */
async function scene(widen: number): Promise<Buffer> {
  const meta = await sharp(PHOTO).metadata();
  const height = 440;
  const width = Math.round((meta.width! * height * widen) / meta.height!);
  const photo = await sharp(PHOTO).removeAlpha().resize(width, height, { fit: 'fill' }).toBuffer();
  return sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .composite([{ input: photo, left: Math.round((640 - width) / 2), top: 20 }])
    .png()
    .toBuffer();
}

const faceOf = (f: FrameMessage): Face => ({ box: f.faces[0].box, score: f.faces[0].score, landmarks: f.faces[0].landmarks });

/** The blush painted on a copy of `bare` with `face`'s mesh and `shape`, as the renderer does. */
function painted(bare: RgbImage, face: Face, item: AppliedProduct, shape: FaceShape): Uint8Array {
  const frame = frameOf(bare);
  const ctx = createRenderContext(frame, face, createOcclusionGate(frame, face), undefined, shape);
  expect(RENDERERS.get('blush')!.render(ctx, item)).toBe(true);
  return frame.data;
}

/** Mean |a - b| over the pixels where `x` or `y` differs from `bare` (where either blush lies). */
function errorWhere(a: Uint8Array, b: Uint8Array, bare: Uint8Array, x: Uint8Array, y: Uint8Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < bare.length; i++) {
    if (x[i] === bare[i] && y[i] === bare[i]) continue;
    sum += Math.abs(a[i] - b[i]);
    n++;
  }
  return n ? sum / n : NaN;
}

const meanAbs = (a: Uint8Array, b: Uint8Array): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
};

describe("the daemon paints blush where the advisor's settled face shape says", () => {
  let daemon: RunningDaemon;
  let kiosk: TryOnKiosk;
  const scenes: RgbImage[] = [];
  const frames: FrameMessage[] = [];
  const advisor: Array<AdvisorMessage | null> = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shape-clip-'));
    const [portrait, stretched] = [await scene(1), await scene(1.3)];
    for (let i = 0; i < PORTRAIT_FRAMES; i++) writeFileSync(path.join(dir, `a-${String(i).padStart(4, '0')}.png`), portrait);
    for (let i = 0; i < STRETCHED_FRAMES; i++) writeFileSync(path.join(dir, `b-${String(i).padStart(4, '0')}.png`), stretched);
    scenes.push(await raw(portrait), await raw(stretched));
    const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-config-')), 'mirror.json');
    // Highest JPEG quality: the comparison is with the kiosk's decoded picture.
    writeFileSync(config, JSON.stringify({ source: `clip:${dir}`, encode: { quality: 95 }, advisor: { leaveMs: 60_000 } }));
    daemon = await startDaemon({ env: { MIRROR_CONFIG: config }, timeoutMs: 180_000 });
    kiosk = await connectKiosk(daemon.url);
    // The frames with the blush on (the only ones compared) and every advisor message.
    kiosk.socket.on('frame', (f) => {
      if (f.applied.includes(BLUSH.productId)) frames.push(f);
    });
    kiosk.socket.on('advisor', (message) => advisor.push(message));
  }, 240_000);
  afterAll(async () => {
    kiosk?.close();
    await daemon?.stop();
  });

  it('on frames whose own mesh says another shape, the blush is the advisor-shaped one', async () => {
    const settled = await until(() => advisor.find((a) => a !== null) ?? undefined, { timeoutMs: 120_000, what: 'a settled reading' });
    const item = resolveItem(bundledCatalog(), { ...BLUSH, intensity: 1 });
    if (!item.ok) throw new Error(item.message);
    expect(await kiosk.send('tryon:set', { ...BLUSH, intensity: 1 })).toMatchObject({ ok: true });
    // Frames with the blush on (chosen after the reading settled) whose own mesh reads another shape.
    const informative = (f: FrameMessage) => f.faces.length > 0 && faceShapeOf(faceGeometry(f.faces[0].landmarks)) !== settled.faceShape;
    await until(() => (frames.filter(informative).length >= 6 ? true : undefined), { timeoutMs: 120_000, what: 'stretched frames with the blush' });
    // The advisor kept one shape all along (the stretched frames never moved it).
    expect(advisor.every((a) => a === null || a.faceShape === settled.faceShape)).toBe(true);

    const checked = frames.filter(informative).slice(0, 6);
    for (const f of checked) {
      const seen = (await raw(Buffer.from(f.image))).data;
      // The clip frame this is: the scene it is nearest to.
      const bare = scenes.reduce((best, s) => (meanAbs(s.data, seen) < meanAbs(best.data, seen) ? s : best));
      const face = faceOf(f);
      const own = faceShapeOf(faceGeometry(face.landmarks));
      const withAdvisor = painted(bare, face, item.item, settled.faceShape);
      const withOwn = painted(bare, face, item.item, own);
      const errAdvisor = errorWhere(seen, withAdvisor, bare.data, withAdvisor, withOwn);
      const errOwn = errorWhere(seen, withOwn, bare.data, withAdvisor, withOwn);
      console.log(`frame ${f.id}: advisor ${settled.faceShape}, own mesh ${own}; mean |Δ| on the blush pixels: vs advisor-shaped ${errAdvisor.toFixed(2)}, vs own-shaped ${errOwn.toFixed(2)}`);
      expect(errAdvisor).toBeLessThan(errOwn * 0.6);
    }
  }, 240_000);
});

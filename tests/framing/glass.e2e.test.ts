/**
 * The framed mirror end to end: the real daemon (framing on, the portrait demo clip through the
 * ffmpeg capture child with the camera on its side), a kiosk socket that acknowledges frames as the
 * kiosk does, and real Chromium painting the glass.
 *  - what the kiosk receives is the crop at no more than display resolution, the glass's aspect,
 *    with the transform beside it and the face mesh in the image's own pixels;
 *  - the try-on is rendered on that crop where the mesh says (lips painted), and the before/after
 *    split still keeps the displayed left bare at the mouth;
 *  - /healthz shows the last frame's framing;
 *  - screenshots of the glass at 1080x1920 (portrait clip) and 1920x1080 (the landscape demo clip
 *    at 1280x720) go to test-artifacts/framing/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { imageToDisplay } from '../../device/framing/geometry.ts';
import { landmarkBox } from '../../device/framing/planner.ts';
import { DEMO_CLIP } from '../../device/source/index.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { connectKiosk, deltaE, lipLab, mouthSplit, type TryOnKiosk } from '../helpers/tryon-kiosk.ts';
import { ARTIFACTS, ensureUiBuilt, openGlass, type Glass } from '../ui/chromium.ts';

const OUT = path.join(ARTIFACTS, 'framing');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

function configFile(config: object): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'framing-config-')), 'mirror.json');
  writeFileSync(file, JSON.stringify({ mqtt: { embeddedPort: 0 }, framing: { enabled: true }, ...config }));
  return file;
}

describe.skipIf(!hasFfmpeg)('framed mirror: real daemon, kiosk socket, Chromium', () => {
  let daemon: RunningDaemon | undefined;
  let kiosk: TryOnKiosk | undefined;
  let glass: Glass | undefined;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    await ensureUiBuilt();
  }, 180_000);

  afterEach(async () => {
    kiosk?.close();
    await glass?.close();
    await daemon?.stop().catch(() => {});
    kiosk = undefined;
    glass = undefined;
    daemon = undefined;
  }, 30_000);

  async function screenshot(size: { width: number; height: number }): Promise<Buffer> {
    glass = await openGlass(size);
    await glass.page.goto(daemon!.url, { waitUntil: 'load' });
    await glass.page.waitForFunction(() => Number(document.querySelector('[data-testid=mirror]')?.getAttribute('data-painted') ?? 0) > 10, null, { timeout: 90_000 });
    const file = path.join(OUT, `glass-${size.width}x${size.height}.png`);
    await glass.page.screenshot({ path: file });
    expect(glass.errors).toEqual([]);
    return sharp(file).raw().toBuffer();
  }

  it('portrait glass 1080x1920: the crop, the mesh in its pixels, the look on it, the split at the mouth', async () => {
    const display = { width: 1080, height: 1920 };
    daemon = await startDaemon({
      env: { MIRROR_CONFIG: configFile({ source: `clip:${path.join(repoRoot, 'device/assets/demo-portrait.mp4')}`, capture: { width: 1920, height: 1080, rotation: 90 }, display }) },
      timeoutMs: 120_000,
    });
    kiosk = await connectKiosk(daemon.url);
    // A strong lipstick (the catalog's most saturated lip shade), so painted and bare lips are far apart.
    const lipsticks = kiosk.catalogs[0].products.filter((p) => p.category === 'lipstick');
    const [product, shade] = lipsticks
      .flatMap((p) => p.shades.map((sh) => [p, sh] as const))
      .sort((a, b) => Math.hypot(b[1].lab[1], b[1].lab[2]) - Math.hypot(a[1].lab[1], a[1].lab[2]))[0];
    expect((await kiosk.send('tryon:set', { productId: product.id, shadeId: shade.id })).ok).toBe(true);
    const painted = await kiosk.frameAfter(Date.now(), (f) => f.applied.includes(product.id));
    const t = painted.framing!;
    expect(t, 'frame carries its framing').toBeDefined();
    expect(t.camera).toEqual({ width: 1080, height: 1920 });
    expect(t.rotation).toBe(90);
    expect(painted.width).toBeLessThanOrEqual(display.width);
    expect(Math.abs(painted.height / painted.width - 16 / 9)).toBeLessThan(0.01);
    const meta = await sharp(Buffer.from(painted.image)).metadata();
    expect([meta.width, meta.height]).toEqual([painted.width, painted.height]);
    const box = landmarkBox(painted.faces[0].landmarks);
    expect(box.x).toBeGreaterThan(0);
    expect(box.x + box.width).toBeLessThan(painted.width);
    const centre = imageToDisplay({ sensor: { width: 1920, height: 1080 }, rotation: 90, crop: t.crop, out: painted, display, mirror: true }, [box.x + box.width / 2, box.y + box.height / 2]);
    expect(centre[0] / display.width).toBeGreaterThan(1 / 3);
    expect(centre[0] / display.width).toBeLessThan(2 / 3);

    // The look is drawn on the crop where the mesh says: painted lips are far from bare ones.
    expect((await kiosk.send('tryon:compare', { split: 1 })).ok).toBe(true);
    const bare = await kiosk.frameAfter(Date.now(), (f) => f.applied.length === 0);
    const sides = async (f: typeof painted) => {
      const { splitX } = mouthSplit(f);
      return { left: await lipLab(f, { splitX, keep: 'left' }), right: await lipLab(f, { splitX, keep: 'right' }) };
    };
    const p = await sides(painted);
    const b = await sides(bare);
    // The before/after split at the mouth: the displayed left (the frame's right) stays bare, the other half painted.
    const probe = await kiosk.frameAfter(Date.now());
    const split = mouthSplit(probe).split;
    expect((await kiosk.send('tryon:compare', { split })).ok).toBe(true);
    const halfFrame = await kiosk.frameAfter(Date.now(), (f) => f.applied.includes(product.id));
    // The daemon keeps the frame's right `split` share bare; the mouth may have moved since the probe,
    // so each side is measured a few pixels clear of that line.
    const line = (1 - split) * halfFrame.width;
    const half = { left: await lipLab(halfFrame, { splitX: line - 4, keep: 'left' }), right: await lipLab(halfFrame, { splitX: line + 4, keep: 'right' }) };
    console.log(
      `framed lips (${product.id}/${shade.id}): painted vs bare ΔE2000 ${deltaE(p.left, b.left).toFixed(1)} (frame-left half); ` +
        `split at the mouth (x ${line.toFixed(0)}): bare half vs bare ${deltaE(half.right, b.right).toFixed(1)}, vs painted ${deltaE(half.right, p.right).toFixed(1)}; ` +
        `painted half vs painted ${deltaE(half.left, p.left).toFixed(1)}; crop ${JSON.stringify(t.crop)} → ${painted.width}x${painted.height}, magnification ${t.magnification}`,
    );
    expect(deltaE(p.left, b.left)).toBeGreaterThan(6);
    expect(deltaE(half.right, b.right)).toBeLessThan(deltaE(half.right, p.right) / 2);
    expect(deltaE(half.left, p.left)).toBeLessThan(deltaE(half.left, b.left) / 2);
    expect((await kiosk.send('tryon:compare', { split: null })).ok).toBe(true);

    // /healthz shows the framing of the last frame.
    const health = await (await fetch(`${daemon.url}/healthz`)).json();
    expect(health.calibration.framing.camera).toEqual({ width: 1080, height: 1920 });
    expect(health.calibration.framing.crop.width).toBeLessThanOrEqual(1080);

    const shot = await screenshot(display);
    expect(shot.length).toBe(display.width * display.height * 3);
  }, 300_000);

  it('landscape glass 1920x1080 on the landscape demo clip at 1280x720: framed, screenshot saved', async () => {
    const display = { width: 1920, height: 1080 };
    daemon = await startDaemon({ env: { MIRROR_CONFIG: configFile({ source: `clip:${DEMO_CLIP}`, capture: { width: 1280, height: 720 }, display }) }, timeoutMs: 120_000 });
    kiosk = await connectKiosk(daemon.url);
    const frame = await kiosk.frameAfter(Date.now());
    const t = frame.framing!;
    expect(t.camera).toEqual({ width: 1280, height: 720 });
    expect(frame.width).toBeLessThanOrEqual(display.width);
    expect(Math.abs(frame.width / frame.height - 16 / 9)).toBeLessThan(0.01);
    expect(t.magnification).toBeLessThanOrEqual(1.5 + 1e-9);
    kiosk.close();
    kiosk = undefined;
    await screenshot(display);
  }, 300_000);
});

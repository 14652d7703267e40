/**
 * The try-on stage's SIMD kernels (device/tryon/simd): the committed binary is the build of its
 * AssemblyScript sources; the stage's arena lies in the kernels' memory; and the stage with its
 * kernels paints what the JavaScript stage paints (the reference), on real photos with their real
 * mesh and the bench's full look: within one 8-bit level, on a small share of the bytes (float32
 * against float64 arithmetic: a value within rounding error of a half level lands on either side).
 * Each kernel's own equivalence test sits with its JavaScript (render-skin-grid.test.ts: applyGains).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import asc from 'assemblyscript/asc';
import { beforeAll, describe, expect, it } from 'vitest';
import { fullLook } from '../../device/bench/full-look.ts';
import { CatalogSlot } from '../../device/tryon/catalog.ts';
import { FrameArena, f32, withArena } from '../../device/tryon/frame-arena.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import { Kernels } from '../../device/tryon/simd/kernels.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { countingKernels, frameOf, shopperFrom, type Shopper } from '../helpers/tryon.ts';
import { loadVision } from '../helpers/vision.ts';

const PHOTOS = ['@vladmandic/face-api/demo/sample4.jpg', '@vladmandic/face-api/demo/sample6.jpg', '@vladmandic/face-api/demo/sample2.jpg'];

let shoppers: Shopper[];
beforeAll(async () => {
  const vision = await loadVision();
  shoppers = [];
  for (const p of PHOTOS) shoppers.push(await shopperFrom(vision, p));
});

describe('the SIMD kernels', () => {
  it('the committed kernels.wasm is what `npm run build:kernels` builds from simd/assembly', async () => {
    const script: string = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')).scripts['build:kernels'];
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'kernels-')), 'kernels.wasm');
    const args = script.replace(/^asc\s+/, '').split(/\s+/);
    args[args.indexOf('-o') + 1] = out;
    const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
    expect(error, String(stderr)).toBeNull();
    const built = await readFile(out);
    const committed = await readFile(path.join(repoRoot, 'device/tryon/simd/kernels.wasm'));
    expect(Buffer.compare(built, committed), 'kernels.wasm is stale: run npm run build:kernels').toBe(0);
  });

  it('an arena with kernels hands out zeroed buffers in their memory, growing it at a reset', () => {
    const kernels = new Kernels();
    const arena = new FrameArena(kernels);
    // The first frame finds the arena empty: plain memory.
    const before = kernels.memory.buffer.byteLength;
    const first = withArena(arena, () => f32(1_000_000));
    expect(kernels.holds(first)).toBe(false);
    arena.reset();
    const next = withArena(arena, () => {
      const a = f32(500_000);
      a.fill(7);
      return [a, f32(500_000)];
    });
    expect(kernels.memory.buffer.byteLength).toBeGreaterThan(before);
    for (const view of next) {
      expect(kernels.holds(view)).toBe(true);
      expect(view.byteOffset).toBeGreaterThanOrEqual(kernels.heapStart);
    }
    expect(next[1].every((v) => v === 0)).toBe(true);
    // The next frame is handed the same memory again, zeroed.
    arena.reset();
    const again = withArena(arena, () => f32(500_000));
    expect(again.byteOffset).toBe(next[0].byteOffset);
    expect(again.every((v) => v === 0)).toBe(true);
  });

  it('the stage with its kernels paints what the JavaScript stage paints: full look, within 1 level on ≤ 0.1 % of the painted bytes', () => {
    const look = fullLook();
    const stage = (kernels: Kernels | null) => createTryOnStage({ selection: () => ({ items: look, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot(), kernels });
    const counted = countingKernels();
    const simd = stage(counted.kernels);
    const reference = stage(null);
    for (const shopper of shoppers) {
      // Three frames: the stage's first frames size its arena (painting in JavaScript until it has room); the last runs the kernels.
      let painted = 0;
      let differ = 0;
      let worst = 0;
      for (let n = 1; n <= 3; n++) {
        const a = frameOf(shopper.image, n);
        const b = frameOf(shopper.image, n);
        const gains = counted.calls('applyGains');
        const blends = counted.calls('blendPixels');
        expect(simd(a, [shopper.face])).toEqual(reference(b, [shopper.face]));
        if (n < 3) continue;
        // Foundation's and concealer's gain passes, and the face products' blends (a call per region), ran as kernels.
        expect(counted.calls('applyGains') - gains, shopper.name).toBeGreaterThanOrEqual(2);
        expect(counted.calls('blendPixels') - blends, shopper.name).toBeGreaterThanOrEqual(3);
        for (let p = 0; p < a.data.length; p++) {
          if (b.data[p] !== shopper.image.data[p]) painted++;
          if (a.data[p] === b.data[p]) continue;
          differ++;
          worst = Math.max(worst, Math.abs(a.data[p] - b.data[p]));
        }
      }
      console.log(`${shopper.name}: ${painted} bytes painted, ${differ} differ from the JavaScript stage, by at most ${worst}`);
      expect(painted, shopper.name).toBeGreaterThan(50_000);
      expect(worst, shopper.name).toBeLessThanOrEqual(1);
      expect(differ, shopper.name).toBeLessThanOrEqual(painted * 0.001);
    }
  });
});

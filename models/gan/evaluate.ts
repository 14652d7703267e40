/**
 * The reference GAN judged on the held-out faces (config.json heldOutPhotos: never rendered into
 * the training folder). Each face gets `looks` random looks (seeded) through the daemon's try-on
 * stage, cut to the aligned crop the device uses; the generator refines each, and per sample:
 *   deltaE        mean CIEDE2000 refined vs render inside the regions (coverage ≥ 0.5, 5x5 blur)
 *   ssimOutside   SSIM of the refined crop to the bare photo where the render changed nothing
 *                 (farther than the paste reach from any makeup)
 *   detail        high-frequency energy inside the regions: photo, render, refined
 *   texture       the photo's texture retained, and synthetic detail, inside the regions: render,
 *                 refined (models/gan/quality.ts)
 *   disc          the trained discriminator's mean patch score (1 = real, 0 = fake; LSGAN) on the
 *                 made-up patches: the bare photo, the render, the refinement
 *   judge         the independent judge's P(photo) on the same patches (train/judge.py: trained on
 *                 the training faces' photo vs render only, never on a refinement)
 * The refinement judged is what the device pastes: the model's residual after the device's guard
 * (device/gan/residual-guard.ts; --no-guard judges the raw model; --guard-options '{"pixelDeltaE":99}' changes
 * its options, to measure what each step costs). --jitter N applies the training's
 * store-light colour jitter (scaled by N) to each held-out photo.
 * Side-by-side PNGs (photo | render | GAN | 4x |GAN − render|) and report.json go to `artifacts`.
 *
 *   tsx models/gan/evaluate.ts [--model DIR] [--disc FILE] [--judge FILE] [--looks N] [--jitter N] [--no-guard] [--guard-options JSON] [--out DIR]
 * (--disc judges a model with another model's discriminator: before / after under the same judge.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { pasteWeight } from '../../device/gan/coverage.ts';
import { openGanModel } from '../../device/gan/gan-model.ts';
import { PASTE_RADIUS } from '../../device/gan/gan-stage.ts';
import { DEFAULT_GUARD, guardResidual, type GuardOptions } from '../../device/gan/residual-guard.ts';
import { REFERENCE_GAN_DIR } from './manifest.ts';
import { detailEnergy, meanDeltaE, selectWhere, ssim, texture } from './quality.ts';
import { mulberry32 } from '../../device/core/seeded-random.ts';
import { facesOf, loadVision, makeSample } from './train/dataset.ts';
import { readTrainConfig } from './train/prepare-data.ts';

export interface SampleReport {
  id: string;
  products: string[];
  deltaE: number;
  ssimOutside: number;
  /** Mean |refined − render| inside the regions, 8-bit levels. */
  changeInside: number;
  detail: { photo: number; render: number; refined: number };
  texture: { render: Texture; refined: Texture };
  disc: { photo: number; render: number; refined: number } | null;
  /** The independent judge (train/judge.py: trained on training faces, photo vs render only): P(photo). */
  judge: { photo: number; render: number; refined: number } | null;
}

type Texture = ReturnType<typeof texture>;

export interface QualityReport {
  model: string;
  faces: number;
  samples: SampleReport[];
  mean: Omit<SampleReport, 'id' | 'products'>;
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** The discriminator's mean patch score over the patches that see makeup (as in training). */
async function discScorer(file: string, size: number): Promise<(img: Uint8Array, coverage: Float32Array) => Promise<number>> {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const n = size * size;
  return async (img, coverage) => {
    const x = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x[c * n + i] = img[i * 3 + c] / 127.5 - 1;
    // The conditional discriminator also sees the mask (the regions to judge); an older one only the image.
    const feeds: Record<string, ort.Tensor> = { image: new ort.Tensor('float32', x, [1, 3, size, size]) };
    if (s.inputNames.includes('mask')) feeds.mask = new ort.Tensor('float32', Float32Array.from(coverage), [1, 1, size, size]);
    const out = (await s.run(feeds)).patches;
    const [, , ph, pw] = out.dims;
    const data = out.data as Float32Array;
    const sy = size / ph;
    const sx = size / pw;
    let sum = 0;
    let wsum = 0;
    for (let py = 0; py < ph; py++)
      for (let px = 0; px < pw; px++) {
        let w = 0;
        for (let y = py * sy; y < (py + 1) * sy; y++) for (let xx = px * sx; xx < (px + 1) * sx; xx++) w = Math.max(w, coverage[y * size + xx]);
        sum += w * data[py * pw + px];
        wsum += w;
      }
    return wsum > 0 ? sum / wsum : NaN;
  };
}

const toBytes = (residual: Float32Array, render: Uint8Array): Uint8Array => Uint8Array.from(render, (v, i) => Math.min(255, Math.max(0, Math.round(v + residual[i]))));

async function sideBySide(file: string, size: number, tiles: Uint8Array[]): Promise<void> {
  const row = new Uint8Array(size * size * 3 * tiles.length);
  for (let y = 0; y < size; y++)
    for (let t = 0; t < tiles.length; t++) row.set(tiles[t].subarray(y * size * 3, (y + 1) * size * 3), (y * tiles.length + t) * size * 3);
  await sharp(Buffer.from(row), { raw: { width: size * tiles.length, height: size, channels: 3 } })
    .resize({ width: size * tiles.length * 2, kernel: 'nearest' })
    .png()
    .toFile(file);
}

export interface EvaluateOptions {
  modelDir?: string;
  discriminator?: string;
  artifacts?: string;
  looks?: number;
  seed?: number;
  /** Colour jitter of each held-out photo (store light; 0 = as shot, 1 = training's range). */
  jitter?: number;
  /** The independent judge's ONNX (default: judge.onnx beside the model). */
  judge?: string;
  /** Paste what the device pastes: the residual after device/gan/residual-guard.ts (default true). */
  guard?: boolean;
  /** The guard's options (default DEFAULT_GUARD): what each of its steps costs the judge is measured so. */
  guardOptions?: Partial<GuardOptions>;
}

export async function evaluateHeldOut(opts: EvaluateOptions = {}): Promise<QualityReport> {
  const modelDir = opts.modelDir ?? REFERENCE_GAN_DIR;
  const config = await readTrainConfig();
  const model = await openGanModel(modelDir, { providers: ['cpu'], stateDir: '/tmp', logger: quiet });
  const size = model.size;
  let disc: Awaited<ReturnType<typeof discScorer>> | null = null;
  try {
    disc = await discScorer(opts.discriminator ?? path.join(modelDir, 'discriminator.onnx'), size);
  } catch {
    disc = null;
  }
  let judge: Awaited<ReturnType<typeof discScorer>> | null = null;
  try {
    judge = await discScorer(opts.judge ?? path.join(modelDir, 'judge.onnx'), size);
  } catch {
    judge = null;
  }
  const vision = await loadVision();
  const random = mulberry32(opts.seed ?? config.seed + 1);
  const samples: SampleReport[] = [];
  if (opts.artifacts) await mkdir(opts.artifacts, { recursive: true });
  for (const photo of config.heldOutPhotos) {
    for (const pf of await facesOf(vision, photo, config.minFacePx)) {
      for (let k = 0; k < (opts.looks ?? 3); k++) {
        const s = makeSample(pf, size, random, opts.jitter ?? 0);
        if (!s.productIds.length) continue;
        const raw = await model.refine(s.bare, s.render, s.coverage);
        const residual = opts.guard === false ? raw : guardResidual(raw, s.render, s.coverage, pasteWeight(s.coverage, size, PASTE_RADIUS), size, s.light, { ...DEFAULT_GUARD, ...opts.guardOptions }).residual;
        const refined = toBytes(residual, s.render);
        const inside = selectWhere(s.coverage, (v) => v >= 0.5);
        const untouched = selectWhere(pasteWeight(s.coverage, size, PASTE_RADIUS), (v) => v === 0);
        let change = 0;
        let count = 0;
        for (let i = 0; i < size * size; i++)
          if (inside[i]) {
            for (let c = 0; c < 3; c++) change += Math.abs(refined[i * 3 + c] - s.render[i * 3 + c]);
            count += 3;
          }
        const id = `${pf.id}_${k}`;
        samples.push({
          id,
          products: s.productIds,
          deltaE: meanDeltaE(refined, s.render, size, inside),
          ssimOutside: ssim(refined, s.bare, size, untouched),
          changeInside: count ? change / count : 0,
          detail: { photo: detailEnergy(s.bare, size, inside), render: detailEnergy(s.render, size, inside), refined: detailEnergy(refined, size, inside) },
          texture: { render: texture(s.render, s.bare, size, inside), refined: texture(refined, s.bare, size, inside) },
          disc: disc ? { photo: await disc(s.bare, s.coverage), render: await disc(s.render, s.coverage), refined: await disc(refined, s.coverage) } : null,
          judge: judge ? { photo: await judge(s.bare, s.coverage), render: await judge(s.render, s.coverage), refined: await judge(refined, s.coverage) } : null,
        });
        if (opts.artifacts) {
          const diff = Uint8Array.from(refined, (v, i) => Math.min(255, Math.abs(v - s.render[i]) * 4));
          await sideBySide(path.join(opts.artifacts, `${id}.png`), size, [s.bare, s.render, refined, diff]);
        }
      }
    }
  }
  model.dispose();
  const avg = (f: (s: SampleReport) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
  const report: QualityReport = {
    model: `${model.manifest.name}@${model.manifest.version}`,
    faces: new Set(samples.map((s) => s.id.replace(/_\d+$/, ''))).size,
    samples,
    mean: {
      deltaE: avg((s) => s.deltaE),
      ssimOutside: avg((s) => s.ssimOutside),
      changeInside: avg((s) => s.changeInside),
      detail: { photo: avg((s) => s.detail.photo), render: avg((s) => s.detail.render), refined: avg((s) => s.detail.refined) },
      texture: {
        render: { retained: avg((s) => s.texture.render.retained), synthetic: avg((s) => s.texture.render.synthetic) },
        refined: { retained: avg((s) => s.texture.refined.retained), synthetic: avg((s) => s.texture.refined.synthetic) },
      },
      disc: disc ? { photo: avg((s) => s.disc!.photo), render: avg((s) => s.disc!.render), refined: avg((s) => s.disc!.refined) } : null,
      judge: judge ? { photo: avg((s) => s.judge!.photo), render: avg((s) => s.judge!.render), refined: avg((s) => s.judge!.refined) } : null,
    },
  };
  if (opts.artifacts) await writeFile(path.join(opts.artifacts, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    evaluateHeldOut({
    modelDir: arg('--model'),
    discriminator: arg('--disc'),
    looks: Number(arg('--looks') ?? 3),
    jitter: Number(arg('--jitter') ?? 0),
    judge: arg('--judge'),
    guard: !args.includes('--no-guard'),
    guardOptions: arg('--guard-options') ? (JSON.parse(arg('--guard-options')!) as Partial<GuardOptions>) : undefined,
    artifacts: arg('--out') ?? path.resolve('test-artifacts', 'gan'),
  })
    .then((r) => console.log(JSON.stringify({ model: r.model, faces: r.faces, samples: r.samples.length, worstDeltaE: Math.max(...r.samples.map((x) => x.deltaE)), mean: r.mean }, null, 1)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

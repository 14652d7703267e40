/**
 * `npm run train:gan`, step 1: renders the training and held-out samples into a folder for the
 * python trainer (models/gan/train/train.py). For each face of the configured photos, N samples
 * (seeded): colour-jittered photo, random look through the daemon's try-on stage, aligned crops.
 * Writes <out>/<split>/<face>_<k>_{bare,render,mask}.png, <face>_<k>_light.f32 (the light the
 * finishes drew, crop space, float32 little-endian: the trainer holds it as the device's guard does)
 * and <out>/index.json.
 *
 *   tsx models/gan/train/prepare-data.ts [--out DIR] [--config FILE]
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { z } from 'zod';
import { mulberry32 } from '../../../device/core/seeded-random.ts';
import { facesOf, loadVision, makeSample } from './dataset.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const TrainConfig = z.strictObject({
  seed: z.number().int(),
  cropSize: z.number().int().min(32).max(512),
  minFacePx: z.number().int().min(16),
  trainPhotos: z.array(z.string()).min(1),
  heldOutPhotos: z.array(z.string()).min(1),
  variantsPerFace: z.number().int().min(1),
  train: z.record(z.string(), z.unknown()),
  // The independent judge (judge.py); read by the python side only.
  judge: z.record(z.string(), z.unknown()).optional(),
});
export type TrainConfig = z.infer<typeof TrainConfig>;

export async function readTrainConfig(file = path.join(here, 'config.json')): Promise<TrainConfig> {
  const config = TrainConfig.parse(JSON.parse(await readFile(file, 'utf8')));
  const overlap = config.trainPhotos.filter((p) => config.heldOutPhotos.includes(p));
  if (overlap.length) throw new Error(`config: photos both trained on and held out: ${overlap.join(', ')}`);
  return config;
}

const png = (data: Uint8Array, size: number, channels: 1 | 3) => sharp(Buffer.from(data), { raw: { width: size, height: size, channels } }).png().toBuffer();

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const out = path.resolve(arg('--out', path.join(here, 'data')));
  const config = await readTrainConfig(arg('--config', path.join(here, 'config.json')));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const vision = await loadVision();
  await rm(out, { recursive: true, force: true });
  const index: Record<string, Array<{ id: string; photo: string; products: string[] }>> = { train: [], heldout: [] };
  const random = mulberry32(config.seed);
  for (const [split, photos] of [
    ['train', config.trainPhotos],
    ['heldout', config.heldOutPhotos],
  ] as const) {
    await mkdir(path.join(out, split), { recursive: true });
    for (const photo of photos) {
      const faces = await facesOf(vision, photo, config.minFacePx);
      for (const pf of faces) {
        for (let k = 0; k < config.variantsPerFace; k++) {
          const s = makeSample(pf, config.cropSize, random);
          if (!s.productIds.length) continue;
          const id = `${pf.id}_${k}`;
          const mask = Uint8Array.from(s.coverage, (v) => Math.round(v * 255));
          await writeFile(path.join(out, split, `${id}_bare.png`), await png(s.bare, config.cropSize, 3));
          await writeFile(path.join(out, split, `${id}_render.png`), await png(s.render, config.cropSize, 3));
          await writeFile(path.join(out, split, `${id}_mask.png`), await png(mask, config.cropSize, 1));
          await writeFile(path.join(out, split, `${id}_light.f32`), new Uint8Array(s.light.buffer, s.light.byteOffset, s.light.byteLength));
          index[split].push({ id, photo, products: s.productIds });
        }
      }
      console.log(`${split}: ${photo}: ${faces.length} faces`);
    }
  }
  await writeFile(path.join(out, 'index.json'), `${JSON.stringify({ cropSize: config.cropSize, seed: config.seed, ...index }, null, 1)}\n`);
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `prepared ${index.train.length} training and ${index.heldout.length} held-out samples in ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU → ${out}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

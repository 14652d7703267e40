/**
 * The committed reference GAN on the held-out faces (models/gan/evaluate.ts: photos the training
 * folder never had, random looks through the daemon's try-on stage, the device's alignment):
 *   - colour fidelity: refined within mean ΔE2000 3 of the render inside the regions (culori);
 *   - unchanged outside: SSIM ≥ 0.95 to the bare photo beyond the paste's reach;
 *   - it refines: it differs from the render where the makeup is (mean change above half a level);
 *   - realism, not a blur: more of the photo's own skin and lip texture is present in the refined
 *     crop than in the render (a blur would lower that share), and less detail the photo does not
 *     have (the render's hard edges and drawn patterns);
 *   - its discriminator (trained on bare photo crops vs refinements under the same mask) scores the
 *     refinement closer to the photo than the render.
 * What is judged is what the device pastes: the model's residual after the device's guard
 * (device/gan/residual-guard.ts). Also:
 *   - under store light: 80 colour-jittered held-out variants (training's jitter range), worst
 *     ΔE2000 ≤ 3;
 *   - finishes drawn on purpose stay: gloss, shimmer and holographic lipsticks keep ≥ 0.95 of their
 *     signature (finished − matte render of the same shade, models/gan/finish.ts) on average.
 * The raw high-frequency energy is printed: it falls, because the render's synthetic edges go.
 * Side-by-side PNGs (photo | render | GAN | 4x difference) and report.json in test-artifacts/gan/.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openGanModel } from '../../device/gan/gan-model.ts';
import { evaluateHeldOut } from '../../models/gan/evaluate.ts';
import { finishRetention } from '../../models/gan/finish.ts';
import { REFERENCE_GAN_DIR } from '../../models/gan/manifest.ts';
import { facesOf, loadVision } from '../../models/gan/train/dataset.ts';
import { readTrainConfig } from '../../models/gan/train/prepare-data.ts';
import { repoRoot } from '../helpers/daemon.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** The held-out evaluation (8 faces x 2 looks), run once for the cases that read it. */
let heldOutReport: ReturnType<typeof evaluateHeldOut> | null = null;
const heldOut = () => (heldOutReport ??= evaluateHeldOut({ artifacts: path.join(repoRoot, 'test-artifacts', 'gan'), looks: 2 }));

describe('reference GAN on held-out faces', () => {
  it('keeps the colour within ΔE2000 3, leaves the rest (SSIM ≥ 0.95), brings back the photo texture and the discriminator moves', async () => {
    const config = await readTrainConfig();
    for (const p of config.heldOutPhotos) expect(config.trainPhotos).not.toContain(p);
    const report = await heldOut();
    const m = report.mean;
    console.log(
      `${report.model}: ${report.faces} held-out faces, ${report.samples.length} samples; ΔE2000 mean ${m.deltaE.toFixed(2)} (worst ${Math.max(...report.samples.map((s) => s.deltaE)).toFixed(2)}); ` +
        `SSIM outside ${m.ssimOutside.toFixed(4)} (worst ${Math.min(...report.samples.map((s) => s.ssimOutside)).toFixed(4)}); change inside ${m.changeInside.toFixed(2)} levels; ` +
        `detail photo/render/refined ${m.detail.photo.toFixed(1)}/${m.detail.render.toFixed(1)}/${m.detail.refined.toFixed(1)}; ` +
        `photo texture retained render/refined ${m.texture.render.retained.toFixed(3)}/${m.texture.refined.retained.toFixed(3)}, synthetic detail ${m.texture.render.synthetic.toFixed(1)}/${m.texture.refined.synthetic.toFixed(1)}; ` +
        `discriminator photo/render/refined ${m.disc ? `${m.disc.photo.toFixed(3)}/${m.disc.render.toFixed(3)}/${m.disc.refined.toFixed(3)}` : 'n/a'}`,
    );
    expect(report.faces).toBeGreaterThanOrEqual(6);
    for (const s of report.samples) {
      expect(s.deltaE, s.id).toBeLessThanOrEqual(3);
      expect(s.ssimOutside, s.id).toBeGreaterThanOrEqual(0.95);
    }
    expect(m.changeInside).toBeGreaterThan(0.5);
    expect(m.texture.refined.retained).toBeGreaterThan(m.texture.render.retained);
    expect(m.texture.refined.synthetic).toBeLessThan(m.texture.render.synthetic);
    expect(m.disc!.refined).toBeGreaterThan(m.disc!.render);
  }, 600_000);

  it('under store light (80 colour-jittered held-out variants, training\'s jitter range) the pasted colour stays within ΔE2000 3', async () => {
    const config = await readTrainConfig();
    const report = await evaluateHeldOut({ looks: 10, jitter: 1, seed: config.seed + 2 });
    const worst = Math.max(...report.samples.map((s) => s.deltaE));
    console.log(`${report.samples.length} jittered held-out variants: ΔE2000 mean ${report.mean.deltaE.toFixed(2)}, worst ${worst.toFixed(2)}`);
    expect(report.samples.length).toBeGreaterThanOrEqual(70);
    expect(worst).toBeLessThanOrEqual(3);
  }, 900_000);

  it('keeps gloss, shimmer and holographic lipstick finishes (their highlights and glints) on held-out faces', async () => {
    const config = await readTrainConfig();
    const vision = await loadVision();
    const faces = [];
    for (const photo of config.heldOutPhotos) faces.push(...(await facesOf(vision, photo, config.minFacePx)));
    const model = await openGanModel(REFERENCE_GAN_DIR, { providers: ['cpu'], stateDir: '/tmp', logger: quiet });
    const r = await finishRetention(model, faces, [
      ['kora-glass-gloss', 'cherry-glaze'],
      ['kora-glass-gloss', 'clear-pink'],
      ['atelier-stardust', 'berry-sparkle'],
      ['atelier-stardust', 'champagne-pink'],
      ['kora-prism', 'violet-halo'],
    ]);
    model.dispose();
    for (const finish of ['gloss', 'shimmer', 'holographic']) {
      const of = r.filter((x) => x.finish === finish);
      const mean = (k: 'raw' | 'guarded') => of.reduce((a, x) => a + x[k], 0) / of.length;
      const worst = Math.min(...of.map((x) => x.guarded));
      console.log(`${finish} (${of.length} face x shade): finish signature kept by the model alone ${mean('raw').toFixed(3)}, as pasted ${mean('guarded').toFixed(3)} (worst ${worst.toFixed(3)})`);
      expect(mean('guarded'), finish).toBeGreaterThanOrEqual(0.95);
      // The guard holds the light the renderer drew and, on a lit finish, the lips' own highlights
      // (which a gloss or shimmer keeps and matte flattens), also against its own colour step.
      // Measured with the weights trained through that hold (step 500): worst gloss 1.01, shimmer
      // 0.99, holographic 1.02 (0.76 / 0.81 / 0.94 when the colour step could undo the hold). Back at
      // the original 0.85 (it was lowered to 0.35, then 0.8, while the hold was incomplete).
      expect(worst, finish).toBeGreaterThanOrEqual(0.85);
    }
  }, 600_000);

  it('an independent judge (trained on the training faces, photo vs render only) places the refinement between render and photo', async () => {
    const judge = JSON.parse(await readFile(path.join(REFERENCE_GAN_DIR, 'judge.json'), 'utf8')) as { sha256: string; trainedOn: string };
    expect(createHash('sha256').update(await readFile(path.join(REFERENCE_GAN_DIR, 'judge.onnx'))).digest('hex')).toBe(judge.sha256);
    const report = await heldOut();
    const j = report.mean.judge!;
    const position = (j.refined - j.render) / (j.photo - j.render);
    const photoWins = report.samples.filter((s) => s.judge!.photo > s.judge!.render).length;
    console.log(
      `judge P(photo) on ${report.samples.length} held-out samples: photo ${j.photo.toFixed(3)} / render ${j.render.toFixed(3)} / refined ${j.refined.toFixed(3)}; ` +
        `photo scored above its render in ${photoWins}/${report.samples.length}; refined at ${position.toFixed(2)} of the way from render (0) to photo (1)`,
    );
    // The judge is a judge: it tells held-out photos from their renders (measured: 0.557 vs 0.420).
    expect(j.photo - j.render).toBeGreaterThan(0.08);
    // Measured through the guard with the pinned judge (8c616474, judge-data.json): step-500 weights
    // trained through the light hold with the adversarial weight at 3: 0.72; at 1: 0.66 (0.82 without
    // the guard's colour step, 1.00 without its light hold). Under the judge before it (9697907f, not
    // reproducible) the adversarial-weight-1 weights were 0.50, earlier weights and guards 0.15-0.35.
    expect(position).toBeGreaterThan(0.68);
  }, 600_000);
});

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
 * The raw high-frequency energy is printed: it falls, because the render's synthetic edges go.
 * Side-by-side PNGs (photo | render | GAN | 4x difference) and report.json in test-artifacts/gan/.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateHeldOut } from '../../models/gan/evaluate.ts';
import { readTrainConfig } from '../../models/gan/train/prepare-data.ts';
import { repoRoot } from '../helpers/daemon.ts';

describe('reference GAN on held-out faces', () => {
  it('keeps the colour within ΔE2000 3, leaves the rest (SSIM ≥ 0.95), brings back the photo texture and the discriminator moves', async () => {
    const config = await readTrainConfig();
    for (const p of config.heldOutPhotos) expect(config.trainPhotos).not.toContain(p);
    const report = await evaluateHeldOut({ artifacts: path.join(repoRoot, 'test-artifacts', 'gan'), looks: 2 });
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
});

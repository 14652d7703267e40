/**
 * Draws every face region (soft mask, tinted) and its loops over a photo, to check the regions by
 * eye. Nothing is written unless asked; frames stay on this machine.
 *
 *   npx tsx tests/tools/draw-regions.ts IMAGE OUT.png [region,region,...]
 */
import sharp from 'sharp';
import { loadVision } from '../helpers/vision.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { REGION_NAMES, regionPolygons, type RegionName } from '../../device/vision/regions.ts';
import { regionMask } from '../../device/tryon/region-masks.ts';

const [file, out, list] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: draw-regions.ts IMAGE OUT.png [region,...]');
  process.exit(64);
}
const names = (list ? list.split(',') : ['lips', 'eyes', 'upperEyelids', 'lowerEyelids', 'eyeshadow', 'eyeliner', 'brows', 'cheeks', 'forehead', 'noseBridge', 'noseSides', 'chin', 'contour']) as RegionName[];
for (const n of names) if (!REGION_NAMES.includes(n)) throw new Error(`unknown region ${n}`);

const vision = await loadVision();
const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const image = { width: info.width, height: info.height, data: new Uint8Array(data) };
const { faces } = await tracker.process(image);
if (faces.length === 0) throw new Error('no face found');
const lm = faces[0].landmarks;
const palette = [[255, 0, 80], [0, 200, 255], [255, 200, 0], [0, 255, 120], [180, 80, 255], [255, 120, 0], [0, 120, 255], [255, 0, 255], [120, 255, 0], [0, 255, 255], [255, 255, 255], [200, 100, 50], [50, 100, 200]];
const px = image.data;
names.forEach((name, k) => {
  const mask = regionMask(lm, name, image);
  if (!mask) return;
  const [r, g, b] = palette[k % palette.length];
  for (let y = 0; y < mask.rect.height; y++)
    for (let x = 0; x < mask.rect.width; x++) {
      const a = Math.min(1, mask.alpha[y * mask.rect.width + x]) * 0.45;
      if (a <= 0) continue;
      const p = ((mask.rect.y + y) * image.width + mask.rect.x + x) * 3;
      px[p] += (r - px[p]) * a;
      px[p + 1] += (g - px[p + 1]) * a;
      px[p + 2] += (b - px[p + 2]) * a;
    }
});
const lines = names
  .flatMap((name) => regionPolygons(lm, name))
  .map((poly) => `<polygon points="${poly.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}" fill="none" stroke="#000" stroke-width="0.6"/>`)
  .join('');
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${lines}</svg>`;
await sharp(Buffer.from(px), { raw: { width: image.width, height: image.height, channels: 3 } }).composite([{ input: Buffer.from(svg) }]).png().toFile(out);
console.log(`drew ${names.join(', ')} → ${out}`);

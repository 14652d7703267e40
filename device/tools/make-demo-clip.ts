/**
 * Builds the bundled demo clip: a head-and-shoulders crop of a real face photo shipped (MIT) in
 * @vladmandic/face-api, moved like a shopper at the mirror (pan, zoom, a few degrees of roll)
 * along a closed path so the clip loops without a jump. Run: npm run demo-clip
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const FRAMES = 150;
const PHOTO = '@vladmandic/face-api/demo/sample3.jpg';
/** Face centre and size in the photo (from the BlazeFace detection, checked by eye). */
const FACE = { cx: 1190, cy: 390, size: 253 };

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo-clip');
const photoPath = createRequire(import.meta.url).resolve(PHOTO);

const { data: src, info } = await sharp(photoPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });

function render(t: number): Buffer {
  const phase = 2 * Math.PI * t;
  // Face spans about a third of the frame width at rest, like a shopper 60 cm from the glass.
  const zoom = (WIDTH * 0.28) / FACE.size * (1 + 0.12 * Math.sin(phase + 1));
  const roll = (5 * Math.PI) / 180 * Math.sin(2 * phase);
  const panX = 0.08 * WIDTH * Math.sin(phase);
  const panY = 0.05 * HEIGHT * Math.sin(2 * phase + 0.5);
  const cos = Math.cos(roll) / zoom;
  const sin = Math.sin(roll) / zoom;
  const out = Buffer.alloc(WIDTH * HEIGHT * 3);
  const faceX = WIDTH / 2 + panX;
  const faceY = HEIGHT * 0.54 + panY;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const dx = x - faceX;
      const dy = y - faceY;
      const sx = Math.min(info.width - 2, Math.max(0, FACE.cx + cos * dx + sin * dy));
      const sy = Math.min(info.height - 2, Math.max(0, FACE.cy - sin * dx + cos * dy));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const i = (y0 * info.width + x0) * 3;
      const j = i + info.width * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[i + c] * (1 - fx) + src[i + 3 + c] * fx;
        const bottom = src[j + c] * (1 - fx) + src[j + 3 + c] * fx;
        out[(y * WIDTH + x) * 3 + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
for (let f = 0; f < FRAMES; f++) {
  const pixels = render(f / FRAMES);
  await sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .jpeg({ quality: 80, mozjpeg: true })
    .toFile(path.join(outDir, `frame-${String(f + 1).padStart(4, '0')}.jpg`));
  if (f % 30 === 0) process.stdout.write(`frame ${f + 1}/${FRAMES}\n`);
}
await writeFile(
  path.join(outDir, 'clip.json'),
  JSON.stringify({ fps: FPS, width: WIDTH, height: HEIGHT, frames: FRAMES, source: PHOTO, license: 'MIT (@vladmandic/face-api demo photo)' }, null, 2) + '\n',
);
console.log(`wrote ${FRAMES} frames to ${outDir}`);

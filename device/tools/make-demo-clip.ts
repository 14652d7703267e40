/**
 * Builds the bundled demo clip: a head-and-shoulders crop of a real face photo shipped (MIT) in
 * @vladmandic/face-api, moved like a shopper at the mirror along the closed path of
 * demo-clip-path.ts, so the clip loops without a jump. Run: npm run demo-clip
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { CLIP_FPS, CLIP_FRAMES, CLIP_HEIGHT, CLIP_PHOTO, CLIP_WIDTH, clipPose, frameToPhoto } from './demo-clip-path.ts';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo-clip');
const photoPath = createRequire(import.meta.url).resolve(CLIP_PHOTO);

const { data: src, info } = await sharp(photoPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });

function render(t: number): Buffer {
  const pose = clipPose(t);
  const out = Buffer.alloc(CLIP_WIDTH * CLIP_HEIGHT * 3);
  for (let y = 0; y < CLIP_HEIGHT; y++) {
    for (let x = 0; x < CLIP_WIDTH; x++) {
      const [px, py] = frameToPhoto(pose, x, y);
      const sx = Math.min(info.width - 2, Math.max(0, px));
      const sy = Math.min(info.height - 2, Math.max(0, py));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const i = (y0 * info.width + x0) * 3;
      const j = i + info.width * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[i + c] * (1 - fx) + src[i + 3 + c] * fx;
        const bottom = src[j + c] * (1 - fx) + src[j + 3 + c] * fx;
        out[(y * CLIP_WIDTH + x) * 3 + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
for (let f = 0; f < CLIP_FRAMES; f++) {
  const pixels = render(f / CLIP_FRAMES);
  await sharp(pixels, { raw: { width: CLIP_WIDTH, height: CLIP_HEIGHT, channels: 3 } })
    .jpeg({ quality: 80, mozjpeg: true })
    .toFile(path.join(outDir, `frame-${String(f + 1).padStart(4, '0')}.jpg`));
  if (f % 30 === 0) process.stdout.write(`frame ${f + 1}/${CLIP_FRAMES}\n`);
}
await writeFile(
  path.join(outDir, 'clip.json'),
  JSON.stringify({ fps: CLIP_FPS, width: CLIP_WIDTH, height: CLIP_HEIGHT, frames: CLIP_FRAMES, source: CLIP_PHOTO, license: 'MIT (@vladmandic/face-api demo photo)' }, null, 2) + '\n',
);
console.log(`wrote ${CLIP_FRAMES} frames to ${outDir}`);

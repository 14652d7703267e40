/**
 * Builds the portrait demo clip (device/assets/demo-portrait.mp4): what a 1920x1080 camera mounted
 * on its side above a portrait glass sees of a shopper who sways, steps closer and rolls her head,
 * along a closed path so the clip loops without a jump. The photo is a real face shipped (MIT) in
 * @vladmandic/face-api; outside a head-and-shoulders ellipse it is blurred (a shop behind the
 * shopper, and no second face for the framing to widen for). Stored as the sensor delivers it
 * (turned 90° anticlockwise; `capture.rotation: 90` stands it upright), H.264 so it stays small.
 * Run: npx tsx device/tools/make-portrait-clip.ts
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

/** Upright frame (the sensor's 1920x1080 on its side). */
const WIDTH = 1080;
const HEIGHT = 1920;
const FPS = 30;
const FRAMES = 150;
const PHOTO = '@vladmandic/face-api/demo/sample3.jpg';
/** Face centre and width in the photo (BlazeFace, as make-demo-clip.ts). */
const FACE = { cx: 1190, cy: 390, size: 253 };
/** Face width in the upright frame at rest: about 28 % of it, a shopper ~70 cm from a 70° lens. */
const FACE_PX = 300;

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo-portrait.mp4');
const photoPath = createRequire(import.meta.url).resolve(PHOTO);
const { data: sharpSrc, info } = await sharp(photoPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const blurred = await sharp(photoPath).removeAlpha().blur(28).raw().toBuffer();

/** 1 on the shopper (an ellipse from the crown to below the shoulders), 0 outside, soft edge. */
function subject(sx: number, sy: number): number {
  const dx = (sx - FACE.cx) / (FACE.size * 1.05);
  const dy = (sy - (FACE.cy + FACE.size * 1.2)) / (FACE.size * 2.6);
  const d = Math.sqrt(dx * dx + dy * dy);
  return Math.min(1, Math.max(0, (1.0 - d) / 0.15));
}

function render(t: number): Buffer {
  const phase = 2 * Math.PI * t;
  const zoom = (FACE_PX / FACE.size) * (1 + 0.1 * Math.sin(phase + 1));
  const roll = ((5 * Math.PI) / 180) * Math.sin(2 * phase);
  const faceX = WIDTH / 2 + 0.15 * WIDTH * Math.sin(phase);
  const faceY = HEIGHT * 0.36 + 0.04 * HEIGHT * Math.sin(2 * phase + 0.5);
  const cos = Math.cos(roll) / zoom;
  const sin = Math.sin(roll) / zoom;
  const frame = Buffer.alloc(WIDTH * HEIGHT * 3);
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
      const m = subject(sx, sy);
      for (let c = 0; c < 3; c++) {
        const sharpV = (sharpSrc[i + c] * (1 - fx) + sharpSrc[i + 3 + c] * fx) * (1 - fy) + (sharpSrc[j + c] * (1 - fx) + sharpSrc[j + 3 + c] * fx) * fy;
        const blurV = (blurred[i + c] * (1 - fx) + blurred[i + 3 + c] * fx) * (1 - fy) + (blurred[j + c] * (1 - fx) + blurred[j + 3 + c] * fx) * fy;
        frame[(y * WIDTH + x) * 3 + c] = sharpV * m + blurV * (1 - m);
      }
    }
  }
  return frame;
}

// The sensor's view: the upright frame turned anticlockwise (the camera lies on its side).
const ffmpeg = spawn(
  'ffmpeg',
  ['-y', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${WIDTH}x${HEIGHT}`, '-r', String(FPS), '-i', 'pipe:0',
    '-vf', 'transpose=cclock', '-c:v', 'libx264', '-preset', 'slow', '-crf', '26', '-g', String(FPS), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', out],
  { stdio: ['pipe', 'inherit', 'inherit'] },
);
const done = new Promise<void>((resolve, reject) => ffmpeg.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`)))));
for (let f = 0; f < FRAMES; f++) {
  const pixels = render(f / FRAMES);
  if (!ffmpeg.stdin.write(pixels)) await new Promise((r) => ffmpeg.stdin.once('drain', r));
  if (f % 30 === 0) process.stdout.write(`frame ${f + 1}/${FRAMES}\n`);
}
ffmpeg.stdin.end();
await done;
await writeFile(
  out.replace(/\.mp4$/, '.json'),
  JSON.stringify({ fps: FPS, frames: FRAMES, sensor: { width: HEIGHT, height: WIDTH }, rotation: 90, source: PHOTO, license: 'MIT (@vladmandic/face-api demo photo)' }, null, 2) + '\n',
);
console.log(`wrote ${FRAMES} frames to ${out}`);

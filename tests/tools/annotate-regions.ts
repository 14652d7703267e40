/**
 * Draws zoomed crops of every face's lips and eyes, to annotate the expected region boxes of
 * tests/fixtures/region-boxes.hand.json by eye (in source-photo pixels).
 *
 *   npx tsx tests/tools/annotate-regions.ts [OUT_DIR]     # default /tmp/region-annotate
 *
 * For each face of tests/fixtures/face-boxes.json it writes OUT_DIR/<photo>-f<k>.png: the mouth
 * (8x) above the subject's right eye and left eye (10x; the right eye is on the image's left).
 * Each panel has a pixel grid every 2 source pixels (brighter every 10, labelled in photo pixels:
 * a grid line at label N is the left/top edge of photo pixel N). Boxes drawn, 1 screen px wide:
 *   green   face-api 68-point reference (REGION_REFERENCE, default /tmp/region-boxes.json, written by
 *           make-region-boxes.ts), where it has the face and the file exists
 *   cyan    our mesh (lipsOuter loop / the whole eye loop), run as regions.test.ts runs it, upright
 *   magenta the hand box already in region-boxes.hand.json, if any (to re-check an annotation)
 * Frames stay on this machine.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { cropImage, loadVision, onlyShopper, readRgb } from '../helpers/vision.ts';
import { shopperWindow } from '../vision/transform.ts';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { regionBox } from '../../device/vision/regions.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import type { Box } from '../../device/vision/face.ts';

type Part = 'mouth' | 'rightEye' | 'leftEye';
const PARTS: Part[] = ['mouth', 'rightEye', 'leftEye'];
const OUR_REGION = { mouth: 'lipsOuter', rightEye: 'eyeRight', leftEye: 'eyeLeft' } as const;

const outDir = process.argv[2] ?? '/tmp/region-annotate';
mkdirSync(outDir, { recursive: true });
// A tool run with tsx, outside vitest: the repo root from this file, not the test helpers (they register vitest hooks).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = path.join(repoRoot, 'tests', 'fixtures');
const faceBoxes: { photos: Array<{ file: string; faces: Box[] }> } = JSON.parse(readFileSync(path.join(fixtures, 'face-boxes.json'), 'utf8'));
const referenceFile = process.env.REGION_REFERENCE ?? '/tmp/region-boxes.json';
const reference: { photos: Array<{ file: string; faces: Array<{ face: Box } & Record<Part, { box: Box }>> }> } = existsSync(referenceFile)
  ? JSON.parse(readFileSync(referenceFile, 'utf8'))
  : { photos: [] };
const handFile = path.join(fixtures, 'region-boxes.hand.json');
const hand: { photos: Array<{ file: string; faces: Array<{ face: Box } & Partial<Record<Part, Box | { excluded: string }>>> }> } | undefined = existsSync(handFile)
  ? JSON.parse(readFileSync(handFile, 'utf8'))
  : undefined;

const sameFace = (a: Box, b: Box) => Math.abs(a.x - b.x) < 1 && Math.abs(a.y - b.y) < 1;

const MARGIN = 34; // screen px for the labels

/** One zoomed panel of `image` around `focus` (photo pixels), with grid, labels and boxes. */
async function panel(image: RgbImage, focus: Box, zoom: number, pad: number, boxes: Array<{ box: Box; colour: string }>, title: string): Promise<{ png: Buffer; width: number; height: number }> {
  const x0 = Math.max(0, Math.floor(focus.x - pad));
  const y0 = Math.max(0, Math.floor(focus.y - pad));
  const x1 = Math.min(image.width, Math.ceil(focus.x + focus.width + pad));
  const y1 = Math.min(image.height, Math.ceil(focus.y + focus.height + pad));
  const w = x1 - x0;
  const h = y1 - y0;
  const zoomed = await sharp(Buffer.from(cropImage(image, { x: x0, y: y0, width: w, height: h }).data), { raw: { width: w, height: h, channels: 3 } })
    .resize(w * zoom, h * zoom, { kernel: 'nearest' })
    .extend({ top: MARGIN, left: MARGIN, bottom: 4, right: 4, background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer();
  const W = w * zoom + MARGIN + 4;
  const H = h * zoom + MARGIN + 4;
  const sx = (x: number) => MARGIN + (x - x0) * zoom;
  const sy = (y: number) => MARGIN + (y - y0) * zoom;
  const parts: string[] = [];
  for (let x = Math.ceil(x0 / 2) * 2; x <= x1; x += 2) {
    const major = x % 10 === 0;
    parts.push(`<line x1="${sx(x)}" y1="${MARGIN}" x2="${sx(x)}" y2="${H - 4}" stroke="${major ? '#ffff00' : '#ffffff'}" stroke-opacity="${major ? 0.55 : 0.2}" stroke-width="1"/>`);
    if (major) parts.push(`<text x="${sx(x)}" y="${MARGIN - 4}" font-size="12" font-family="monospace" fill="#ffff00" text-anchor="middle">${x}</text>`);
  }
  for (let y = Math.ceil(y0 / 2) * 2; y <= y1; y += 2) {
    const major = y % 10 === 0;
    parts.push(`<line x1="${MARGIN}" y1="${sy(y)}" x2="${W - 4}" y2="${sy(y)}" stroke="${major ? '#ffff00' : '#ffffff'}" stroke-opacity="${major ? 0.55 : 0.2}" stroke-width="1"/>`);
    if (major) parts.push(`<text x="2" y="${sy(y) + 4}" font-size="11" font-family="monospace" fill="#ffff00">${y}</text>`);
  }
  for (const { box, colour } of boxes)
    parts.push(`<rect x="${sx(box.x)}" y="${sy(box.y)}" width="${box.width * zoom}" height="${box.height * zoom}" fill="none" stroke="${colour}" stroke-width="1"/>`);
  parts.push(`<text x="2" y="12" font-size="12" font-family="monospace" fill="#ffffff">${title}</text>`);
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`);
  const png = await sharp(zoomed, { raw: { width: W, height: H, channels: 3 } }).composite([{ input: svg, top: 0, left: 0 }]).png().toBuffer();
  return { png, width: W, height: H };
}

const union = (boxes: Box[]): Box => {
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, width: Math.max(...boxes.map((b) => b.x + b.width)) - x, height: Math.max(...boxes.map((b) => b.y + b.height)) - y };
};

const vision = await loadVision();
for (const photo of faceBoxes.photos) {
  const image = await readRgb(photo.file);
  const name = path.basename(photo.file, '.jpg');
  for (const [k, face] of photo.faces.entries()) {
    const window = shopperWindow(face);
    const x0 = Math.max(0, Math.round(window.x));
    const y0 = Math.max(0, Math.round(window.y));
    const crop = onlyShopper(cropImage(image, window), { ...face, x: face.x - x0, y: face.y - y0 });
    const tracker = new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 });
    const { faces } = await tracker.process(crop);
    const ref = reference.photos.find((p) => p.file === photo.file)?.faces.find((f) => sameFace(f.face, face));
    const handFace = hand?.photos.find((p) => p.file === photo.file)?.faces.find((f) => sameFace(f.face, face));
    const panels = [];
    const lines: string[] = [];
    for (const part of PARTS) {
      const boxes: Array<{ box: Box; colour: string }> = [];
      if (ref) boxes.push({ box: ref[part].box, colour: '#00ff00' });
      if (faces[0]) {
        const b = regionBox(faces[0].landmarks, OUR_REGION[part]);
        boxes.push({ box: { ...b, x: b.x + x0, y: b.y + y0 }, colour: '#00ffff' });
      }
      const h = handFace?.[part];
      if (h && 'x' in h) boxes.push({ box: h, colour: '#ff00ff' });
      if (boxes.length === 0) continue;
      const focus = union(boxes.map((b) => b.box));
      const zoom = part === 'mouth' ? 8 : 10;
      const pad = part === 'mouth' ? 14 : 10;
      panels.push(await panel(image, focus, zoom, pad, boxes, `${name} face ${k} ${part}  green=68pt cyan=ours magenta=hand`));
      lines.push(`  ${part}: ${boxes.map((b) => `${b.colour} ${b.box.x.toFixed(1)},${b.box.y.toFixed(1)} ${b.box.width.toFixed(1)}x${b.box.height.toFixed(1)}`).join(' | ')}`);
    }
    if (panels.length === 0) continue;
    // Mouth on top, eyes side by side below.
    const [mouth, ...eyes] = panels;
    const eyesWidth = eyes.reduce((s, p) => s + p.width, 0);
    const width = Math.max(mouth.width, eyesWidth);
    const height = mouth.height + Math.max(0, ...eyes.map((p) => p.height));
    let left = 0;
    const layers = [{ input: mouth.png, top: 0, left: 0 }, ...eyes.map((p) => ({ input: p.png, top: mouth.height, left: (left += p.width) - p.width }))];
    const out = path.join(outDir, `${name}-f${k}.png`);
    await sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 40 } } }).composite(layers).png().toFile(out);
    console.log(`${out}${faces[0] ? '' : ' (our mesh found no face)'}\n${lines.join('\n')}`);
  }
}

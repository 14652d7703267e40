/**
 * Test scenes for the tracker made from the package photos: real faces pasted into a 640x480
 * camera frame at chosen places and sizes, so a test knows where every face is on every frame.
 */
import sharp from 'sharp';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import type { Box } from '../../device/vision/face.ts';
import { cropImage, readRgb } from '../helpers/vision.ts';

export const SCENE = { width: 640, height: 480 } as const;

/** One person per photo (the BlazeFace box in the full photo): six different people. */
export const PEOPLE: ReadonlyArray<{ photo: string; face: Box }> = [
  { photo: '@vladmandic/face-api/demo/sample1.jpg', face: { x: 419, y: 405, width: 196, height: 196 } },
  { photo: '@vladmandic/face-api/demo/sample2.jpg', face: { x: 1459, y: 197, width: 199, height: 199 } },
  { photo: '@vladmandic/face-api/demo/sample3.jpg', face: { x: 1064, y: 255, width: 253, height: 253 } },
  { photo: '@vladmandic/face-api/demo/sample4.jpg', face: { x: 977, y: 228, width: 200, height: 200 } },
  { photo: '@vladmandic/face-api/demo/sample5.jpg', face: { x: 570, y: 455, width: 198, height: 198 } },
  { photo: '@vladmandic/face-api/demo/sample6.jpg', face: { x: 654, y: 380, width: 239, height: 239 } },
];

/** A person's head: a square window two face boxes wide around the face, from the photo. */
export async function headOf(person: (typeof PEOPLE)[number]): Promise<RgbImage> {
  const photo = await readRgb(person.photo);
  const side = person.face.width * 2;
  const cx = person.face.x + person.face.width / 2;
  const cy = person.face.y + person.face.height / 2;
  return cropImage(photo, { x: cx - side / 2, y: cy - side / 2, width: side, height: side });
}

/** Where a head goes in the frame: its centre and side in frame pixels. */
export interface Placement {
  cx: number;
  cy: number;
  side: number;
}

async function resized(head: RgbImage, side: number): Promise<RgbImage> {
  const s = Math.round(side);
  const data = await sharp(Buffer.from(head.data), { raw: { width: head.width, height: head.height, channels: 3 } }).resize(s, s).raw().toBuffer();
  return { width: s, height: s, data: new Uint8Array(data) };
}

/** A frame: a soft background (a gradient with broad shading, like a shop wall) with the heads pasted. */
export async function compose(heads: ReadonlyArray<{ head: RgbImage; at: Placement }>): Promise<RgbImage> {
  const { width, height } = SCENE;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = 95 + 30 * (y / height) + 12 * Math.sin(x / 47) * Math.cos(y / 61);
      data.set([v + 8, v, v - 6], (y * width + x) * 3);
    }
  for (const { head, at } of heads) {
    const img = await resized(head, at.side);
    const x0 = Math.round(at.cx - img.width / 2);
    const y0 = Math.round(at.cy - img.height / 2);
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++) {
        const fx = x0 + x;
        const fy = y0 + y;
        if (fx < 0 || fy < 0 || fx >= width || fy >= height) continue;
        const i = (y * img.width + x) * 3;
        data.set(img.data.subarray(i, i + 3), (fy * width + fx) * 3);
      }
  }
  return { width, height, data };
}

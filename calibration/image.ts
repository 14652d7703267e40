/** Reading a calibration photo into packed 8-bit RGB (sharp), with errors that name the problem. */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import { CalibrationError } from './errors.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** Packed rows, width * height * 3 bytes, sRGB code values. */
  data: Uint8Array;
}

/** Smallest photo the chart can be found and sampled in. */
export const MIN_IMAGE_SIDE = 64;

export async function decodeImage(bytes: Buffer, name: string): Promise<RgbImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new CalibrationError('unreadable-image', `${name} is not a readable image (${(err as Error).message})`);
  }
  const { width, height, channels } = raw.info;
  if (channels !== 3) throw new CalibrationError('unreadable-image', `${name} has ${channels} channels after decoding, expected 3 (RGB)`);
  if (width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE) {
    throw new CalibrationError('image-size', `${name} is ${width}x${height}: too small to hold a chart (at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE})`);
  }
  return { width, height, data: raw.data };
}

export async function loadImage(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CalibrationError('unreadable-image', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return decodeImage(bytes, file);
}

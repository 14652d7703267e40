/** Encodes the composed frame for the glass. libjpeg-turbo via sharp, off the pipeline thread. */
import sharp from 'sharp';
import type { Frame } from '../core/frame.ts';

export function createJpegEncoder(quality: number): (frame: Frame) => Promise<Buffer> {
  return (frame) =>
    sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .jpeg({ quality, chromaSubsampling: '4:2:0' })
      .toBuffer();
}

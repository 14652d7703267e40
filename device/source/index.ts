/** Turns a source spec (config `source`) into a frame source. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { FfmpegSource, v4l2InputArgs, videoFileInputArgs } from './ffmpeg-source.ts';
import { ImageFolderSource } from './image-folder-source.ts';
import { WebcamSource } from './webcam-source.ts';
import type { FrameSource, SourceLogger } from './source.ts';
import type { LensDistortion, Rotation } from '../framing/geometry.ts';

export const DEMO_CLIP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets', 'demo-clip');
const DEFAULT_CAMERA = '/dev/video0';

export interface CaptureSettings {
  /** The camera mode, in the sensor's orientation. */
  width: number;
  height: number;
  fps: number;
  /** Clockwise degrees that stand the image upright (frames come out turned). */
  rotation?: Rotation;
  /** Radial distortion undone by ffmpeg sources. */
  lens?: LensDistortion;
  /** ffmpeg sources also deliver each frame divided by this whole factor (Frame.reduced: the CNNs' frame). */
  reduceBy?: number;
}

/** `auto` picks the camera when one is plugged in, else the bundled demo clip. */
export function resolveSourceSpec(spec: string, cameraPresent = existsSync(DEFAULT_CAMERA)): string {
  if (spec !== 'auto') return spec;
  return cameraPresent ? `v4l2:${DEFAULT_CAMERA}` : `clip:${DEMO_CLIP}`;
}

export function createSource(spec: string, capture: CaptureSettings, logger: SourceLogger): FrameSource {
  const resolved = resolveSourceSpec(spec);
  const [kind, ...rest] = resolved.split(':');
  const target = rest.join(':');
  const { width, height, fps, rotation, lens, reduceBy } = capture;
  switch (kind) {
    case 'clip': {
      if (!existsSync(target)) throw new MirrorError('MIRROR_ERR_SOURCE_SPEC', `source "${spec}": ${target} does not exist`);
      if (statSync(target).isDirectory()) return new ImageFolderSource({ dir: target, width, height, fps, rotation, logger });
      return new FfmpegSource({ label: resolved, inputArgs: videoFileInputArgs(target), inputPath: target, width, height, fps, rotation, lens, reduceBy, logger });
    }
    case 'v4l2':
      return new FfmpegSource({ label: resolved, inputArgs: v4l2InputArgs(target, width, height, fps), inputPath: target, width, height, fps, rotation, lens, reduceBy, logger });
    case 'webcam':
      return new WebcamSource({ device: target || undefined, width, height, rotation, logger });
    default:
      throw new MirrorError('MIRROR_ERR_SOURCE_SPEC', `source "${spec}" is not one of auto, clip:PATH, v4l2:/dev/videoN, webcam[:/dev/videoN]`);
  }
}

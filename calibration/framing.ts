/**
 * `calibrate framing`: what the glass will show for a still from the mirror's camera, taken as the
 * camera delivers it. Finds how the camera is mounted (the rotation that shows the face upright;
 * `auto` tries all four), runs the daemon's own framing stage (framing/stage.ts, the real face
 * models) on it, and reports the crop, the face's size in camera and glass pixels, the
 * magnification and where the face centre lands on the glass, with an optional preview of the
 * glass (the crop, mirrored, at display size) and the config lines to use.
 */
import sharp from 'sharp';
import { validateConfig } from '../device/config/load.ts';
import type { Frame, Size } from '../device/core/frame.ts';
import { framingStage } from '../device/daemon/frame-path.ts';
import { displayMagnification, imageToDisplay, type Rotation } from '../device/framing/geometry.ts';
import { landmarkBox } from '../device/framing/planner.ts';
import type { Logger } from '../device/core/logger.ts';
import { createFaceStage } from '../device/vision/face-stage.ts';
import { CalibrationError } from './errors.ts';
import type { RgbImage } from './image.ts';

export interface FramingReport {
  rotation: Rotation;
  capture: Size;
  camera: Size;
  display: Size;
  crop: { x: number; y: number; width: number; height: number };
  emitted: Size;
  faceWidth: { camera: number; glass: number };
  magnification: number;
  /** Face centre on the glass as shares of its width and height (0.5, 0.5: the middle). */
  faceCentre: [number, number];
  config: { capture: { width: number; height: number; rotation: Rotation }; display: Size; framing: { enabled: true } };
}

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, trace: () => {}, fatal: () => {}, child: () => quiet } as unknown as Logger;

async function turned(image: RgbImage, rotation: Rotation): Promise<Frame> {
  const raw = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const { data, info } = await (rotation === 0 ? raw : raw.rotate(rotation)).raw().toBuffer({ resolveWithObject: true });
  return { id: 1, capturedAt: 0, width: info.width, height: info.height, format: 'rgb24', data };
}

export async function planFraming(
  image: RgbImage,
  options: { rotation: Rotation | 'auto'; display: Size; stateDir: string },
): Promise<{ report: FramingReport; preview: () => Promise<Buffer> }> {
  const base = validateConfig({ framing: { enabled: true }, display: options.display });
  const vision = await createFaceStage(base.vision, quiet, { stateDir: options.stateDir });
  try {
    const rotations: Rotation[] = options.rotation === 'auto' ? [0, 90, 270, 180] : [options.rotation];
    // The mesh finds a face lying on its side too: the mounting is the turn that leaves the least head roll.
    let best: { rotation: Rotation; roll: number } | null = null;
    for (const rotation of rotations) {
      const frame = await turned(image, rotation);
      vision.tracker.reset();
      const { faces } = await vision.tracker.process(frame);
      const roll = Math.abs(faces[0]?.pose?.roll ?? Infinity);
      if (faces.length && (!best || roll < best.roll)) best = { rotation, roll };
    }
    for (const rotation of best ? [best.rotation] : []) {
      const config = validateConfig({ framing: { enabled: true }, display: options.display, capture: { width: image.width, height: image.height, rotation } });
      const frame = await turned(image, rotation);
      const stage = framingStage(config, vision);
      vision.tracker.reset();
      const seen = await stage.see(frame, (small) => vision.tracker.process(small), () => {});
      if (seen.faces.length === 0) continue;
      const framed = await stage.compose(frame, seen, () => {});
      const t = framed.transform;
      const box = landmarkBox(framed.faces[0].landmarks);
      const [cx, cy] = imageToDisplay(t, [box.x + box.width / 2, box.y + box.height / 2]);
      const magnification = displayMagnification(t);
      const report: FramingReport = {
        rotation,
        capture: { width: image.width, height: image.height },
        camera: { width: frame.width, height: frame.height },
        display: options.display,
        crop: t.crop,
        emitted: t.out,
        faceWidth: { camera: Math.round(landmarkBox(seen.faces[0].landmarks).width), glass: Math.round(landmarkBox(seen.faces[0].landmarks).width * magnification) },
        magnification: Math.round(magnification * 1000) / 1000,
        faceCentre: [Math.round((cx / options.display.width) * 1000) / 1000, Math.round((cy / options.display.height) * 1000) / 1000],
        config: { capture: { width: image.width, height: image.height, rotation }, display: options.display, framing: { enabled: true } },
      };
      const crop = framed.frame;
      return {
        report,
        preview: () =>
          sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } })
            .flop()
            .resize(options.display.width, options.display.height, { fit: 'cover' })
            .png()
            .toBuffer(),
      };
    }
    throw new CalibrationError(
      'no-face',
      options.rotation === 'auto'
        ? 'no face found in the image at any rotation (0, 90, 180, 270): stand a person 50-100 cm in front of the camera, lit from the front'
        : `no face found in the image turned by ${options.rotation}°: try --rotation auto`,
    );
  } finally {
    vision.dispose();
  }
}

export function formatFraming(r: FramingReport): string {
  return [
    `camera mounted with rotation ${r.rotation}° (capture ${r.capture.width}x${r.capture.height} → upright ${r.camera.width}x${r.camera.height})`,
    `glass ${r.display.width}x${r.display.height}: crop x ${r.crop.x} y ${r.crop.y} ${r.crop.width}x${r.crop.height} camera px, sent as ${r.emitted.width}x${r.emitted.height}`,
    `face ${r.faceWidth.camera} camera px wide → ${r.faceWidth.glass} glass px (magnification ${r.magnification}${r.magnification > 1.5 ? ': above 1.5, the picture is soft; capture at a higher resolution' : ''})`,
    `face centre on the glass at ${(r.faceCentre[0] * 100).toFixed(0)} % across, ${(r.faceCentre[1] * 100).toFixed(0)} % down`,
    `config: ${JSON.stringify(r.config)}`,
  ].join('\n');
}

/**
 * The wire form of a frame for the kiosk: face geometry rounded to 1/100 px (the kiosk draws at
 * most at device pixels; full doubles would triple the bytes of 468 landmarks per frame).
 */
import type { EncodedFrame } from '../pipeline.ts';
import type { Face } from '../vision/face.ts';
import type { FaceMessage, FrameMessage } from './events.ts';

const round2 = (v: number) => Math.round(v * 100) / 100;
const point2 = ([x, y]: readonly [number, number]): [number, number] => [round2(x), round2(y)];

function faceMessage(f: Face): FaceMessage {
  return {
    box: { x: round2(f.box.x), y: round2(f.box.y), width: round2(f.box.width), height: round2(f.box.height) },
    score: round2(f.score),
    landmarks: f.landmarks.map(([x, y, z]) => [round2(x), round2(y), round2(z)] as [number, number, number]),
    ...(f.pose && { pose: f.pose }),
    ...(f.iris && {
      iris: {
        right: { center: point2(f.iris.right.center), radius: round2(f.iris.right.radius) },
        left: { center: point2(f.iris.left.center), radius: round2(f.iris.left.radius) },
      },
    }),
  };
}

export function toFrameMessage(frame: EncodedFrame): FrameMessage {
  return { ...frame, faces: frame.faces.map(faceMessage) };
}

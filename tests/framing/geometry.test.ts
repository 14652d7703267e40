/**
 * The camera → display mapping and the crop's motion, on their own: a point on the glass traced to
 * the sensor and back lands within 1 px (every mounting rotation, with and without lens
 * distortion); the crop follows a jump without overshoot and never moves more than 2 % of its
 * width between frames; a second face widens it; a talking shopper (small sway) does not move it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CropFollower, DEFAULT_FOLLOW, type CropState } from '../../device/framing/follow.ts';
import { displayMagnification, displayToSensor, sensorToDisplay, uprightSize, type FramingTransform, type Rotation } from '../../device/framing/geometry.ts';
import { cropRect, DEFAULT_POLICY, outputSize, wantedCrop } from '../../device/framing/planner.ts';
import { cutCrop, Scratch } from '../../device/framing/resample.ts';
import { createFramingStage } from '../../device/framing/stage.ts';
import { framingStage } from '../../device/daemon/frame-path.ts';
import { validateConfig } from '../../device/config/load.ts';
import type { Frame } from '../../device/core/frame.ts';

const display = { width: 1080, height: 1920 };
const policy = { ...DEFAULT_POLICY, display };

function transform(rotation: Rotation, lens: boolean, cropWidth: number): FramingTransform {
  const sensor = { width: 1920, height: 1080 };
  const frame = uprightSize(sensor, rotation);
  const crop = cropRect(frame, display, { cx: frame.width * 0.45, cy: frame.height * 0.55, width: cropWidth });
  return {
    sensor,
    rotation,
    ...(lens && { lens: { cx: 960.5, cy: 541.2, k1: -0.12, k2: 0.03 } }),
    crop,
    out: outputSize(crop, display),
    display,
    mirror: true,
  };
}

/** Largest move of any crop corner between two crops, as a share of the earlier width. */
function jump(a: CropState, b: CropState, aspect: number): number {
  const dx = Math.abs(b.cx - a.cx) + Math.abs(b.width - a.width) / 2;
  const dy = Math.abs(b.cy - a.cy) + (Math.abs(b.width - a.width) * aspect) / 2;
  return Math.max(dx, dy) / a.width;
}

describe('camera ↔ display geometry', () => {
  for (const rotation of [0, 90, 180, 270] as const) {
    for (const lens of [false, true]) {
      it(`display → sensor → display within 1 px (rotation ${rotation}, ${lens ? 'lens distortion' : 'no distortion'})`, () => {
        for (const cropWidth of [300, 720, 1080, 1500]) {
          const t = transform(rotation, lens, cropWidth);
          fc.assert(
            fc.property(fc.double({ min: 0, max: display.width, noNaN: true }), fc.double({ min: 0, max: display.height, noNaN: true }), (x, y) => {
              const back = sensorToDisplay(t, displayToSensor(t, [x, y]));
              return Math.hypot(back[0] - x, back[1] - y) <= 1;
            }),
            { numRuns: 300 },
          );
        }
      });
    }
  }

  it('mirrors: the camera image’s left edge lands on the glass’s right', () => {
    const t = transform(0, false, 720);
    const [x] = sensorToDisplay(t, [t.crop.x + 1, t.crop.y + 10]);
    expect(x).toBeGreaterThan(display.width - 3);
  });

  it('a camera on its side: the sensor’s top row becomes the upright image’s right column', () => {
    const t = transform(90, false, 1080);
    expect(t.crop.width).toBe(1080);
    // sensor (x, 0) → upright (1080, x) → mirrored display x = 0 (the right column of the image is the glass's left).
    const [x, y] = sensorToDisplay(t, [800, 0]);
    expect(x).toBeCloseTo(0, 6);
    expect(y).toBeCloseTo(((800 - t.crop.y) * 1920) / t.crop.height, 6);
  });

  it('magnification: 1080-wide crop on a 1080-wide glass is 1:1; a 720-wide crop is 1.5x', () => {
    expect(displayMagnification(transform(90, false, 1080))).toBeCloseTo(1, 6);
    expect(displayMagnification(transform(90, false, 720))).toBeCloseTo(1.5, 2);
  });
});

describe('virtual-mirror crop', () => {
  const frame = { width: 1080, height: 1920 };
  const face = (cx: number, cy: number, w = 300) => ({ x: cx - w / 2, y: cy - w * 0.6, width: w, height: w * 1.2 });

  it('puts the face at mirror scale, centred, inside the frame, never narrower than display / maxUpscale', () => {
    const c = wantedCrop(frame, [face(540, 700)], policy);
    expect(c.width).toBeCloseTo(300 / policy.faceWidth, 6);
    expect(c.cx).toBe(540);
    const small = wantedCrop(frame, [face(540, 700, 120)], policy);
    expect(small.width).toBeCloseTo(display.width / policy.maxUpscale, 6);
    const edge = wantedCrop(frame, [face(60, 100)], policy);
    expect(edge.cx - edge.width / 2).toBeGreaterThanOrEqual(0);
    expect(edge.cy - (edge.width * 16) / 9 / 2).toBeGreaterThanOrEqual(-1e-9);
  });

  it('a second person widens the crop to hold both faces well inside it', () => {
    const one = wantedCrop(frame, [face(450, 700)], policy);
    const two = wantedCrop(frame, [face(450, 700), face(800, 650, 260)], policy);
    expect(two.width).toBeGreaterThan(one.width * 1.15);
    expect(two.cx - two.width / 2).toBeLessThan(450 - 150);
    expect(two.cx + two.width / 2).toBeGreaterThan(800 + 130);
  });

  it('follows a jump of the face without overshoot, at most 2 % of the width per frame', () => {
    const follower = new CropFollower(DEFAULT_FOLLOW);
    const aspect = 16 / 9;
    let t = 0;
    let prev = follower.update(wantedCrop(frame, [face(300, 700)], policy), t);
    const target = wantedCrop(frame, [face(760, 900, 340)], policy);
    let maxJump = 0;
    let overshoot = 0;
    for (let n = 0; n < 150; n++) {
      t += 1000 / 30;
      const next = follower.update(target, t);
      maxJump = Math.max(maxJump, jump(prev, next, aspect));
      overshoot = Math.max(overshoot, next.cx - target.cx, next.width - target.width);
      prev = next;
    }
    expect(maxJump).toBeLessThanOrEqual(0.02);
    expect(overshoot).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(prev.cx - target.cx)).toBeLessThan(2);
    // A stalled frame (500 ms gap) moves no further than any other.
    const far = wantedCrop(frame, [face(300, 600)], policy);
    const before = follower.update(far, t + 500);
    expect(jump(prev, before, aspect)).toBeLessThanOrEqual(0.02);
  });

  it('a shopper who sways and talks (±2 % of the crop) leaves the picture still: no hunting', () => {
    const follower = new CropFollower(DEFAULT_FOLLOW);
    const base = wantedCrop(frame, [face(540, 700)], policy);
    const first = follower.update(base, 0);
    let maxMove = 0;
    for (let n = 1; n < 300; n++) {
      const sway = 0.02 * base.width * Math.sin(n / 3);
      const shown = follower.update({ ...base, cx: base.cx + sway, cy: base.cy - sway / 2 }, (n * 1000) / 30);
      maxMove = Math.max(maxMove, Math.abs(shown.cx - first.cx), Math.abs(shown.cy - first.cy), Math.abs(shown.width - first.width));
    }
    expect(maxMove).toBe(0);
  });
});

describe('the CNNs’ small frame', () => {
  it('a small-frame point is the camera point divided by the factor (a lit 3x3 block lands on one small pixel centre)', async () => {
    const { downscale } = await import('../../device/framing/resample.ts');
    const W = 1080;
    const H = 1920;
    const data = Buffer.alloc(W * H * 3);
    for (let y = 600; y < 603; y++) for (let x = 300; x < 303; x++) data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const small = await downscale({ id: 1, capturedAt: 0, width: W, height: H, format: 'rgb24', data }, 3);
    expect([small.width, small.height]).toEqual([360, 640]);
    let sx = 0;
    let sy = 0;
    let sw = 0;
    for (let y = 190; y < 210; y++) {
      for (let x = 90; x < 110; x++) {
        const v = small.data[(y * small.width + x) * 3];
        sx += v * (x + 0.5);
        sy += v * (y + 0.5);
        sw += v;
      }
    }
    expect(sx / sw).toBeCloseTo(301.5 / 3, 2);
    expect(sy / sw).toBeCloseTo(601.5 / 3, 2);
  });
});

describe('the CNNs’ frame from the capture child, and crop buffers while the last frame encodes', () => {
  const W = 1080;
  const H = 1920;
  const noFaces = { faces: [], detected: false, otherFaces: 0 };
  const camera = (): Frame => ({ id: 1, capturedAt: 0, width: W, height: H, format: 'rgb24', data: Buffer.alloc(W * H * 3, 200) });

  it('the CNNs read the capture child’s reduced copy when it is at the stage’s factor, else a reduction of the frame', async () => {
    const stage = createFramingStage({ policy, follow: DEFAULT_FOLLOW, visionMaxSide: 640, peopleEvery: 0, sensor: { width: H, height: W }, rotation: 90 });
    const reduced = { factor: 3, width: 360, height: 640, data: Buffer.alloc(360 * 640 * 3, 7) };
    const read: Frame[] = [];
    const vision = async (small: Frame) => (read.push(small), noFaces);
    await stage.see({ ...camera(), reduced }, vision, () => {});
    await stage.see({ ...camera(), reduced: { ...reduced, factor: 2 } }, vision, () => {});
    // Identity as a boolean: a failing toBe on two 691 KB buffers spends minutes printing their diff.
    expect(read[0].data === reduced.data).toBe(true);
    expect([read[0].width, read[0].height, read[0].id]).toEqual([360, 640, 1]);
    // Factor 2 is not the stage's (640 px on the long side needs 3): reduced here from the frame.
    expect([read[1].width, read[1].height, read[1].data[0]]).toEqual([360, 640, 200]);
  });

  it('a 1:1 crop is cut into a buffer the previous frame’s crop (still encoding) does not share', async () => {
    const scratch = new Scratch();
    const crop = { x: 100, y: 200, width: 700, height: 1244 };
    const first = await cutCrop(camera(), crop, { width: 700, height: 1244 }, scratch);
    const second = await cutCrop({ ...camera(), data: Buffer.alloc(W * H * 3, 9) }, crop, { width: 700, height: 1244 }, scratch);
    expect(first.data[0]).toBe(200);
    expect(second.data[0]).toBe(9);
    expect(first.data.buffer === second.data.buffer).toBe(false);
  });
});

describe('the people scan off the frame’s path (scanWhenIdle, as the daemon runs it)', () => {
  const W = 1080;
  const H = 1920;
  const shopperFace = { box: { x: 150, y: 200, width: 60, height: 60 }, score: 1, landmarks: [[150, 200, 0], [210, 200, 0], [150, 260, 0], [210, 260, 0]] as Array<[number, number, number]> };
  const seenShopper = async () => ({ faces: [shopperFace], detected: true, otherFaces: 0 });
  /** A second person, in small-frame pixels, away from the shopper's face. */
  const bystander = { box: { x: 280, y: 200, width: 60, height: 60 }, score: 0.9 };
  const frame = (id: number, fill: number): Frame => ({
    id,
    capturedAt: id * 33,
    width: W,
    height: H,
    format: 'rgb24',
    data: Buffer.alloc(0),
    reduced: { factor: 3, width: 360, height: 640, data: Buffer.alloc(360 * 640 * 3, fill) },
  });

  it('a due scan waits for idle() (on a copy of its small frame) and counts from the next frame; one never idled for runs on its frame', async () => {
    const scanned: number[] = [];
    const people = async (small: Frame) => (scanned.push(small.data[0]), [bystander as never]);
    const stage = createFramingStage({ policy, follow: DEFAULT_FOLLOW, visionMaxSide: 640, peopleEvery: 3, scanWhenIdle: true, sensor: { width: H, height: W }, rotation: 90 }, people);
    const first = frame(1, 11);
    let seen = await stage.see(first, seenShopper, () => {});
    // Due on frame 1, not run on its path: no people yet, and the scan waits.
    expect(scanned).toEqual([]);
    expect(seen.others).toEqual([]);
    // The frame's buffers go back to the pool and are refilled before the quiet moment.
    first.reduced!.data.fill(99);
    await stage.idle()!();
    expect(scanned).toEqual([11]);
    expect(stage.idle()).toBeNull();
    seen = await stage.see(frame(2, 12), seenShopper, () => {});
    expect(seen.others).toEqual([{ x: 840, y: 600, width: 180, height: 180 }]);
    // Due again on frame 4 and never idle before frame 7: frame 7 pays for its own scan, frame 4's is dropped.
    await stage.see(frame(3, 13), seenShopper, () => {});
    await stage.see(frame(4, 14), seenShopper, () => {});
    for (const id of [5, 6, 7]) await stage.see(frame(id, 10 + id), seenShopper, () => {});
    expect(scanned).toEqual([11, 17]);
    expect(stage.idle()).toBeNull();
  });

  it('without the option the scan runs on its frame', async () => {
    const scanned: number[] = [];
    const people = async (small: Frame) => (scanned.push(small.data[0]), [bystander as never]);
    const stage = createFramingStage({ policy, follow: DEFAULT_FOLLOW, visionMaxSide: 640, peopleEvery: 3, sensor: { width: H, height: W }, rotation: 90 }, people);
    const seen = await stage.see(frame(1, 11), seenShopper, () => {});
    expect(scanned).toEqual([11]);
    expect(seen.others).toHaveLength(1);
    expect(stage.idle()).toBeNull();
  });

  it('the daemon’s framing stage (frame-path) scans between frames', async () => {
    const scanned: number[] = [];
    const config = validateConfig({ capture: { width: 1920, height: 1080, rotation: 90 }, framing: { enabled: true } });
    const vision = { detector: { detect: async (small: Frame) => (scanned.push(small.data[0]), []) } };
    const stage = framingStage(config, vision as never);
    await stage.see(frame(1, 21), seenShopper, () => {});
    expect(scanned).toEqual([]);
    await stage.idle()!();
    expect(scanned).toEqual([21]);
  });
});


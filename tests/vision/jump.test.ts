/**
 * Issue 19, "tracking that never lags a jump". A clip made from the package photos in which the
 * face teleports every SEGMENT frames (a different person at a different place, drifting slowly in
 * between, as a shopper does), run through the tracker as the daemon builds it (default smoothing,
 * 30 fps timestamps).
 *
 * Reference: the same pipeline run fresh on that single frame (a new FaceTracker that has seen
 * nothing else: detector, mesh on the detector's crop, mesh once more on the mesh's own crop). It
 * shares the models with the tracker, so it says nothing about the models' own accuracy (issue 19
 * part 2 measures that against Human); it is independent of the tracker's state, which is exactly
 * what lag is made of: any difference is the history (an old crop, a smoother's memory) showing.
 * Error: mean landmark distance over the 468 points, as a fraction of the reference's inter-ocular
 * distance.
 *
 * Before this change (main at d854a09) the first and second frames after each jump were off by
 * about one inter-ocular distance (see the note in /work/coord/notes/tracker.md for the numbers).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceTracker } from '../../device/vision/face-tracker.ts';
import { smoothingFrom } from '../../device/vision/smoothing.ts';
import { validateConfig } from '../../device/config/load.ts';
import { interOcular } from '../../device/vision/regions.ts';
import { TAKEOVER_CHECKS, TAKEOVER_MARGIN, shopperClaim } from '../../device/vision/shopper-rule.ts';
import { CHECK_EVERY } from '../../device/vision/face-tracker.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { loadVision } from '../helpers/vision.ts';
import { PEOPLE, compose, headOf, type Placement } from './scene.ts';

type Landmarks = Array<[number, number, number]>;
let vision: Awaited<ReturnType<typeof loadVision>>;
let heads: RgbImage[];
/** The tracker as the daemon builds it from a config with no smoothing keys (face-stage.ts). */
const daemonTracker = () => new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5, smoothing: smoothingFrom(validateConfig({}).vision.smoothing) });

const SEGMENT = 8;
const JUMP_BAR = 0.05;
/**
 * Where each segment's person stands (centre, head side; a head side of 250 px gives an
 * inter-ocular distance of about 55 px): mostly about one inter-ocular distance from the last
 * person, where the old crop still holds much of the new face and the mesh's face flag stays high
 * (the case), and two far jumps.
 */
const PLACES: Placement[] = [
  { cx: 300, cy: 240, side: 250 },
  { cx: 355, cy: 250, side: 260 },
  { cx: 310, cy: 290, side: 240 },
  { cx: 250, cy: 250, side: 270 },
  { cx: 300, cy: 205, side: 250 },
  { cx: 480, cy: 300, side: 240 },
  { cx: 420, cy: 280, side: 260 },
  { cx: 170, cy: 200, side: 250 },
  { cx: 215, cy: 230, side: 240 },
];

/** 0 → 1 over the first 20 frames of a phase, smoothly. */
const ease = (k: number) => (1 - Math.cos(Math.PI * Math.min(1, k / 20))) / 2;

function error(a: Landmarks, ref: Landmarks): number {
  let sum = 0;
  for (let i = 0; i < ref.length; i++) sum += Math.hypot(a[i][0] - ref[i][0], a[i][1] - ref[i][1]);
  return sum / ref.length / interOcular(ref);
}

beforeAll(async () => {
  vision = await loadVision();
  heads = await Promise.all(PEOPLE.map(headOf));
});

describe('a face that jumps', () => {
  it(`is tracked where it landed on the first frame after each jump (error < ${JUMP_BAR * 100} % of the inter-ocular distance)`, async () => {
    const tracker = daemonTracker();
    const rows: string[] = [];
    const firstErrors: number[] = [];
    const settledErrors: number[] = [];
    for (const [s, place] of PLACES.entries()) {
      const head = heads[s % heads.length];
      for (let k = 0; k < SEGMENT; k++) {
        const n = s * SEGMENT + k;
        // Drift within a segment: 1.5 px right and 1 px down per frame, a shopper's sway.
        const frame = await compose([{ head, at: { ...place, cx: place.cx + 1.5 * k, cy: place.cy + k } }]);
        const out = await tracker.process({ ...frame, capturedAt: (n * 1000) / 30 });
        expect(out.faces, `frame ${n}`).toHaveLength(1);
        if (s === 0 || k > 2 && k !== SEGMENT - 1) continue;
        const ref = (await new FaceTracker(vision.detector, vision.mesh, { minMeshScore: 0.5 }).process(frame)).faces[0];
        expect(ref, `reference on frame ${n}`).toBeDefined();
        const e = error(out.faces[0].landmarks, ref.landmarks);
        rows.push(`jump ${s} frame +${k}: ${(e * 100).toFixed(2)} %${out.detected ? ' (detector ran)' : ''}`);
        if (k === 0) firstErrors.push(e);
        else settledErrors.push(e);
      }
    }
    console.log(`landmark error vs the fresh pipeline on the same frame, % of inter-ocular distance:\n  ${rows.join('\n  ')}`);
    console.log(`first frame after a jump: max ${(Math.max(...firstErrors) * 100).toFixed(2)} %; later frames: max ${(Math.max(...settledErrors) * 100).toFixed(2)} %`);
    expect(firstErrors).toHaveLength(PLACES.length - 1);
    for (const e of firstErrors) expect(e).toBeLessThan(JUMP_BAR);
    for (const e of settledErrors) expect(e).toBeLessThan(JUMP_BAR);
  }, 600_000);
});

describe('the shopper rule', () => {
  /**
   * Person A stands left of centre. Person B steps in on the right: first smaller (A stays), then
   * about as big, swaying to and fro so that her claim matches or beats A's by up to ~15 %, within
   * the hysteresis margin (A must stay: no takeover on a near tie, no flicker), then close and
   * central (B takes over, once).
   */
  it('a second face takes over only when clearly the shopper, once, and never flickers', async () => {
    const [a, b] = [heads[0], heads[3]];
    const A: Placement = { cx: 190, cy: 250, side: 240 };
    const phases = [
      { frames: 30, b: null },
      { frames: 30, b: () => ({ cx: 520, cy: 240, side: 170 }) },
      { frames: 60, b: (k: number) => ({ cx: 475, cy: 240, side: 285 + 28 * Math.sin((2 * Math.PI * k) / 60) }) },
      // A steps back and aside, B comes close and central, both over 20 frames (no teleport).
      { frames: 75, b: (k: number) => ({ cx: 475 - 55 * ease(k), cy: 240, side: 270 + 60 * ease(k) }), a: (k: number) => ({ cx: 190 - 70 * ease(k), cy: 250, side: 240 - 70 * ease(k) }) },
    ] as const;
    const tracker = daemonTracker();
    const owner: string[] = [];
    const tieRatios: number[] = [];
    let n = 0;
    for (const [p, phase] of phases.entries()) {
      for (let k = 0; k < phase.frames; k++, n++) {
        const atA = 'a' in phase ? phase.a(k) : A;
        const placed = [{ head: a, at: atA }, ...(phase.b ? [{ head: b, at: phase.b(k) }] : [])];
        const frame = await compose(placed);
        const face = (await tracker.process({ ...frame, capturedAt: (n * 1000) / 30 })).faces[0];
        expect(face, `frame ${n}`).toBeDefined();
        // Whose face it is: the nearest head centre to the mesh's nose tip.
        const [x, y] = face.landmarks[1];
        const near = placed.map((h) => Math.hypot(h.at.cx - x, h.at.cy - y));
        owner.push(`${p}${near.indexOf(Math.min(...near)) === 0 ? 'A' : 'B'}`);
        // The tie phase really is a near tie: B's claim (the rule's own measure, on the detector's boxes) matches or beats A's, within the margin.
        if (p === 2 && k % 5 === 0) {
          const boxes = (await vision.detector.detect(frame)).map((d) => d.box);
          expect(boxes, `frame ${n}`).toHaveLength(2);
          const [ca, cb] = placed.map((h) => {
            const box = boxes.reduce((best, bx) => (Math.abs(bx.x + bx.width / 2 - h.at.cx) < Math.abs(best.x + best.width / 2 - h.at.cx) ? bx : best));
            return shopperClaim(box, frame);
          });
          tieRatios.push(cb / ca);
        }
      }
    }
    console.log(`tie phase, B's claim / A's: ${tieRatios.map((r) => r.toFixed(2)).join(' ')} (takeover margin ${TAKEOVER_MARGIN})`);
    expect(Math.min(...tieRatios)).toBeGreaterThan(0.9);
    expect(Math.max(...tieRatios)).toBeGreaterThan(1.05);
    expect(Math.max(...tieRatios)).toBeLessThan(TAKEOVER_MARGIN);
    const switches = owner.filter((o, i) => i > 0 && o[1] !== owner[i - 1][1]).length;
    const firstB = owner.findIndex((o) => o[1] === 'B');
    console.log(`shopper per frame (phase + who): ${owner.join(' ')}\nswitches: ${switches}; B first tracked on frame ${firstB} (phase 3 starts on frame 120)`);
    expect(owner.slice(0, 120).every((o) => o[1] === 'A')).toBe(true);
    expect(switches).toBe(1);
    // Takeover within the hysteresis: TAKEOVER_CHECKS checks, one check every CHECK_EVERY frames.
    expect(firstB).toBeGreaterThanOrEqual(120);
    expect(firstB).toBeLessThanOrEqual(120 + (TAKEOVER_CHECKS + 1) * CHECK_EVERY);
  }, 600_000);
});

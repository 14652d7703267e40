/**
 * Temporal smoothing of the face mesh: a still face must not shimmer, a moving face must not lag.
 *
 * A plain One-Euro filter per coordinate has to choose between the two, because its speed
 * estimate comes from the same noisy coordinate it smooths. Here the mesh is split in two:
 *
 *  - the head's rigid motion (centre, in-plane rotation, scale), fitted to the 468 mesh points by least
 *    squares against the previous smoothed shape, so its noise is averaged down ~20x; it gets a
 *    responsive One-Euro filter (high beta: follows the head with little lag);
 *  - the shape in the face's own frame (points relative to that motion, in face-size units): this
 *    is where the per-point jitter lives, and it only changes when the face changes expression.
 *    It gets One-Euro filters tuned per region: lips and eyes responsive (talking, blinking), the
 *    face outline and the rest of the face still.
 *
 * Both filters see speeds in face-size units, so one tuning holds at any distance from the mirror.
 * `reset()` forgets everything (the tracker calls it when the face is lost or a new shopper is
 * acquired). A jump (the face's centre moved more than JUMP face radii, or its size changed by
 * more than JUMP_SCALE, since the last frame) also starts afresh: a filter would drag the
 * landmarks across the gap for several frames, painting the cheek or the background.
 * The attention mesh's 478 points are smoothed the same way (the rigid fit on its first 468), its
 * 10 iris points with the eyes' filter.
 */
import { EYE_LEFT, EYE_RIGHT, BROW_LEFT, BROW_RIGHT, FACE_OVAL, LIPS_INNER, LIPS_OUTER } from './regions.ts';
import { ATTENTION_POINT_COUNT, MESH_POINT_COUNT } from './face.ts';

export interface OneEuroParams {
  /** Cutoff (Hz) when still: lower = steadier. */
  minCutoff: number;
  /** How fast the cutoff rises with speed (per face-size unit per second): higher = less lag. */
  beta: number;
  /** Cutoff (Hz) of the speed estimate. */
  dCutoff: number;
}

export type SmoothedRegion = 'lips' | 'eyes' | 'brows' | 'outline' | 'face';

export interface SmoothingParams {
  enabled: boolean;
  /** The head's rigid motion (position, rotation, scale). */
  motion: OneEuroParams;
  /** The shape in the face's own frame, per region. */
  shape: Record<SmoothedRegion, OneEuroParams>;
}

export const DEFAULT_SMOOTHING: SmoothingParams = {
  enabled: true,
  motion: { minCutoff: 1.5, beta: 40, dCutoff: 2 },
  shape: {
    lips: { minCutoff: 2, beta: 30, dCutoff: 2 },
    eyes: { minCutoff: 2, beta: 30, dCutoff: 2 },
    brows: { minCutoff: 1, beta: 15, dCutoff: 1 },
    outline: { minCutoff: 0.4, beta: 5, dCutoff: 1 },
    face: { minCutoff: 0.7, beta: 10, dCutoff: 1 },
  },
};

/** Centre travel in one frame, in face radii (RMS distance of the points from their centre), that is a jump. */
export const JUMP = 0.5;
/** Size ratio in one frame that is a jump. */
const JUMP_SCALE = 1.4;

/** The config's flat `vision.smoothing` (motion beside each region) as the smoother's params. */
export function smoothingFrom(config: { enabled: boolean; motion: OneEuroParams } & Record<SmoothedRegion, OneEuroParams>): SmoothingParams {
  const { enabled, motion, ...shape } = config;
  return { enabled, motion, shape };
}

const alphaFor = (cutoff: number, dt: number): number => {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
};

/**
 * One-Euro filter over a vector of `dims` values that share one speed (the vector's norm), so a
 * point's x, y and z speed up together instead of each jittering its own cutoff.
 */
class VectorOneEuro {
  readonly #x: Float64Array;
  readonly #dx: Float64Array;
  #ready = false;
  /** Whether the speed estimate has had its first measurement. */
  #seeded = false;

  constructor(
    readonly dims: number,
    readonly params: OneEuroParams,
  ) {
    this.#x = new Float64Array(dims);
    this.#dx = new Float64Array(dims);
  }

  reset(): void {
    this.#ready = false;
    this.#seeded = false;
  }

  /** Filters `value` in place. */
  filter(value: Float64Array | number[], dt: number): void {
    const { dims } = this;
    if (!this.#ready) {
      for (let i = 0; i < dims; i++) {
        this.#x[i] = value[i];
        this.#dx[i] = 0;
      }
      this.#ready = true;
      return;
    }
    // The speed filter has no history on a track's second frame: it starts from the speed measured
    // there, not from zero, which would hold a moving face back on that frame (low cutoff) and let
    // it catch up on the next ones.
    const ad = this.#seeded ? alphaFor(this.params.dCutoff, dt) : 1;
    this.#seeded = true;
    let speed2 = 0;
    for (let i = 0; i < dims; i++) {
      const d = (value[i] - this.#x[i]) / dt;
      this.#dx[i] += ad * (d - this.#dx[i]);
      speed2 += this.#dx[i] * this.#dx[i];
    }
    const a = alphaFor(this.params.minCutoff + this.params.beta * Math.sqrt(speed2), dt);
    for (let i = 0; i < dims; i++) {
      this.#x[i] += a * (value[i] - this.#x[i]);
      value[i] = this.#x[i];
    }
  }
}

/** Which smoothing group each mesh point belongs to. */
function regionOfPoints(): SmoothedRegion[] {
  const region: SmoothedRegion[] = new Array(MESH_POINT_COUNT).fill('face');
  for (let i = MESH_POINT_COUNT; i < ATTENTION_POINT_COUNT; i++) region.push('eyes');
  for (const i of FACE_OVAL) region[i] = 'outline';
  for (const i of [...BROW_LEFT, ...BROW_RIGHT]) region[i] = 'brows';
  for (const i of [...EYE_LEFT, ...EYE_RIGHT]) region[i] = 'eyes';
  for (const i of [...LIPS_OUTER, ...LIPS_INNER]) region[i] = 'lips';
  return region;
}

type Landmarks = Array<[number, number, number]>;

export class LandmarkSmoother {
  readonly #params: SmoothingParams;
  readonly #motion: VectorOneEuro;
  readonly #points: VectorOneEuro[];
  /** The smoothed shape in face units (centred, upright, unit RMS radius): the fit's reference. */
  #shape: Float64Array | null = null;
  #lastT = 0;
  #prevAngle = 0;
  /** Pixels per motion unit, fixed at the first frame of a track. */
  #motionUnit: number | null = null;
  /** Last frame's raw centre and radius (the jump test). */
  #last: { cx: number; cy: number; scale: number } | null = null;

  constructor(params: SmoothingParams = DEFAULT_SMOOTHING) {
    this.#params = params;
    // Motion: centre x, y (face units), angle (rad), log scale.
    this.#motion = new VectorOneEuro(4, params.motion);
    const regions = regionOfPoints();
    this.#points = regions.map((r) => new VectorOneEuro(3, params.shape[r]));
  }

  reset(): void {
    this.#shape = null;
    this.#prevAngle = 0;
    this.#motionUnit = null;
    this.#last = null;
    this.#motion.reset();
    for (const p of this.#points) p.reset();
  }

  /** Smooths one frame's landmarks taken at `tMs`; returns new arrays, `raw` is not changed. */
  smooth(raw: ReadonlyArray<readonly [number, number, number]>, tMs: number): Landmarks {
    const n = raw.length;
    if (!this.#params.enabled || (n !== MESH_POINT_COUNT && n !== ATTENTION_POINT_COUNT)) return raw.map(([x, y, z]) => [x, y, z]);
    // The mesh model changed under the track (468 <-> 478 points): start afresh.
    if (this.#shape && this.#shape.length !== 3 * n) this.reset();
    // The rigid fit uses the mesh's 468 points whatever the model, so both models move alike.
    const fit = MESH_POINT_COUNT;

    // Rigid motion of this frame: centroid, RMS radius, rotation against the previous shape.
    let cx = 0;
    let cy = 0;
    for (let i = 0; i < fit; i++) {
      cx += raw[i][0];
      cy += raw[i][1];
    }
    cx /= fit;
    cy /= fit;
    let r2 = 0;
    for (let i = 0; i < fit; i++) r2 += (raw[i][0] - cx) ** 2 + (raw[i][1] - cy) ** 2;
    const scale = Math.sqrt(r2 / fit) || 1;
    const last = this.#last;
    if (last && (Math.hypot(cx - last.cx, cy - last.cy) > JUMP * last.scale || Math.max(scale / last.scale, last.scale / scale) > JUMP_SCALE)) this.reset();
    this.#last = { cx, cy, scale };
    const dt = this.#shape ? Math.max(1e-3, (tMs - this.#lastT) / 1000) : 1 / 30;
    this.#lastT = tMs;
    let angle = 0;
    if (this.#shape) {
      // Least-squares rotation taking the reference shape onto this frame's centred points.
      let dot = 0;
      let cross = 0;
      for (let i = 0; i < fit; i++) {
        const qx = this.#shape[3 * i];
        const qy = this.#shape[3 * i + 1];
        const px = raw[i][0] - cx;
        const py = raw[i][1] - cy;
        dot += qx * px + qy * py;
        cross += qx * py - qy * px;
      }
      angle = Math.atan2(cross, dot);
      // Keep the angle continuous with the filter's state (no 2π jumps).
      const prev = this.#prevAngle;
      angle = prev + Math.atan2(Math.sin(angle - prev), Math.cos(angle - prev));
    }

    // Local shape: undo this frame's own motion, in face units.
    const cos = Math.cos(-angle);
    const sin = Math.sin(-angle);
    const local = new Float64Array(3 * n);
    const v = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const px = (raw[i][0] - cx) / scale;
      const py = (raw[i][1] - cy) / scale;
      v[0] = cos * px - sin * py;
      v[1] = sin * px + cos * py;
      v[2] = raw[i][2] / scale;
      this.#points[i].filter(v, dt);
      local[3 * i] = v[0];
      local[3 * i + 1] = v[1];
      local[3 * i + 2] = v[2];
    }

    // Motion in face units so that beta means the same at any distance.
    const unit = this.#motionUnit ?? scale;
    this.#motionUnit = unit;
    const m = [cx / unit, cy / unit, angle, Math.log(scale)];
    this.#motion.filter(m, dt);
    this.#prevAngle = m[2];
    const fcx = m[0] * unit;
    const fcy = m[1] * unit;
    const fs = Math.exp(m[3]);
    const fc = Math.cos(m[2]);
    const fsn = Math.sin(m[2]);

    this.#shape = local;
    const out: Landmarks = new Array(n);
    for (let i = 0; i < n; i++) {
      const lx = local[3 * i];
      const ly = local[3 * i + 1];
      out[i] = [fcx + fs * (fc * lx - fsn * ly), fcy + fs * (fsn * lx + fc * ly), local[3 * i + 2] * fs];
    }
    return out;
  }
}

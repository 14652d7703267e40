/**
 * How the virtual-mirror crop follows the shopper: a critically damped spring per axis (centre x,
 * centre y, width) towards a target that moves only when the wanted crop leaves a dead zone around
 * it. Critical damping never overshoots (no hunting back and forth); the dead zone lets a shopper
 * talk and sway without the picture moving; a speed limit keeps any frame-to-frame move below a
 * fixed share of the crop's width however far the target jumps (a second person, a new shopper).
 */

export interface FollowParams {
  /** Spring stiffness as the natural frequency, rad/s (settles in about 5/omega seconds). */
  omega: number;
  /** The target moves once the wanted centre is this share of the crop width away from it. */
  deadZone: number;
  /** ... and once the wanted width differs from the target's by this share. */
  sizeDeadZone: number;
  /**
   * Largest move per shown frame of the centre and of the width, each as a share of the crop width.
   * Per frame, not per second: a frame shown after a stall moves no further than any other. A
   * corner then moves at most maxStep·(1 + aspect/2) of the width (0.009 on a 9:16 glass: 1.7 %).
   */
  maxStep: number;
}

export const DEFAULT_FOLLOW: FollowParams = { omega: 6, deadZone: 0.05, sizeDeadZone: 0.08, maxStep: 0.009 };

export interface CropState {
  cx: number;
  cy: number;
  width: number;
}

interface Axis {
  value: number;
  velocity: number;
  target: number;
}

/** One step of an exactly integrated critically damped spring (stable for any dt). */
function springStep(axis: Axis, omega: number, dt: number): void {
  const offset = axis.value - axis.target;
  const decay = Math.exp(-omega * dt);
  const a = offset;
  const b = axis.velocity + omega * offset;
  axis.value = axis.target + (a + b * dt) * decay;
  axis.velocity = (b - omega * (a + b * dt)) * decay;
}

export class CropFollower {
  readonly #params: FollowParams;
  #axes: { cx: Axis; cy: Axis; width: Axis } | null = null;
  #lastT = 0;

  constructor(params: FollowParams = DEFAULT_FOLLOW) {
    this.#params = params;
  }

  /** The crop to show at time `t` (ms) for the crop wanted now. */
  update(wanted: CropState, t: number): CropState {
    if (!this.#axes) {
      this.#axes = {
        cx: { value: wanted.cx, velocity: 0, target: wanted.cx },
        cy: { value: wanted.cy, velocity: 0, target: wanted.cy },
        width: { value: wanted.width, velocity: 0, target: wanted.width },
      };
      this.#lastT = t;
      return this.current()!;
    }
    const { omega, deadZone, sizeDeadZone, maxStep } = this.#params;
    // A stall (or the first frame after one) counts as one frame: the picture never leaps.
    const dt = Math.min(Math.max((t - this.#lastT) / 1000, 0), 1 / 15);
    this.#lastT = t;
    const axes = this.#axes;
    const width = axes.width.value;
    // Hysteresis: the target jumps to the wanted crop only when it has left the dead zone; small
    // motion leaves the target (and so the picture) where it is.
    if (Math.hypot(wanted.cx - axes.cx.target, wanted.cy - axes.cy.target) > deadZone * width) {
      axes.cx.target = wanted.cx;
      axes.cy.target = wanted.cy;
    }
    if (Math.abs(wanted.width - axes.width.target) > sizeDeadZone * width) axes.width.target = wanted.width;
    const limit = maxStep * width;
    for (const axis of [axes.cx, axes.cy, axes.width]) {
      const before = axis.value;
      springStep(axis, omega, dt);
      const step = axis.value - before;
      if (Math.abs(step) > limit) {
        axis.value = before + Math.sign(step) * limit;
        axis.velocity = (Math.sign(step) * limit) / Math.max(dt, 1e-3);
      }
    }
    return this.current()!;
  }

  current(): CropState | null {
    return this.#axes && { cx: this.#axes.cx.value, cy: this.#axes.cy.value, width: this.#axes.width.value };
  }

  reset(): void {
    this.#axes = null;
  }
}

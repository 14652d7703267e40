/**
 * Which face at the mirror is the shopper (the one try-on paints), when the detector sees several.
 *
 * The rule: the largest face wins, and centrality breaks near-ties: a face's claim is its size
 * (square root of its box area) times 1 − 0.4·d, d its centre's distance from the frame centre
 * over half the frame's shorter side (capped at 1), so a face at the frame's edge counts as 40 %
 * smaller than the same face in the middle.
 * Hysteresis: once a shopper is tracked, another face takes over only when its claim beats the
 * shopper's by TAKEOVER_MARGIN on TAKEOVER_CHECKS detector checks in a row; two faces of about
 * the same claim therefore never swap back and forth. A shopper the detector no longer sees at
 * all (walked off, replaced) is replaced at once by the best claim.
 */
import type { Box } from './face.ts';

/** A challenger's claim must exceed the shopper's by this factor ... */
export const TAKEOVER_MARGIN = 1.25;
/** ... on this many detector checks in a row. */
export const TAKEOVER_CHECKS = 3;
/** How much an off-centre face's claim shrinks at the frame's edge. */
const CENTRALITY_WEIGHT = 0.4;
/** A detection is the tracked shopper when it overlaps the shopper's box at least this much (IoU) ... */
const SAME_FACE_IOU = 0.3;

export function shopperClaim(box: Box, frame: { width: number; height: number }): number {
  const dx = box.x + box.width / 2 - frame.width / 2;
  const dy = box.y + box.height / 2 - frame.height / 2;
  const d = Math.min(1, Math.hypot(dx, dy) / (Math.min(frame.width, frame.height) / 2));
  return Math.sqrt(Math.max(0, box.width * box.height)) * (1 - CENTRALITY_WEIGHT * d);
}

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter || 1);
}

/** Which detection is the tracked shopper: the best-overlapping one, or -1 when none overlaps enough. */
export function matchShopper(shopper: Box, boxes: readonly Box[]): number {
  let best = -1;
  let bestIou = SAME_FACE_IOU;
  boxes.forEach((b, i) => {
    const v = iou(shopper, b);
    if (v >= bestIou) {
      best = i;
      bestIou = v;
    }
  });
  return best;
}

export interface ShopperChoice {
  /** Index of the shopper among the boxes, -1 when there are none. */
  index: number;
  /** True when the shopper is a different face from the one tracked before this check. */
  changed: boolean;
}

/** The rule's memory: how many checks in a row a challenger has beaten the shopper. */
export class ShopperRule {
  #challenges = 0;

  reset(): void {
    this.#challenges = 0;
  }

  /**
   * One detector check. `shopper` is the tracked shopper's box (null when none is tracked);
   * `boxes` are this frame's detections.
   */
  choose(shopper: Box | null, boxes: readonly Box[], frame: { width: number; height: number }): ShopperChoice {
    if (boxes.length === 0) {
      this.#challenges = 0;
      return { index: -1, changed: shopper !== null };
    }
    const claims = boxes.map((b) => shopperClaim(b, frame));
    let best = 0;
    for (let i = 1; i < claims.length; i++) if (claims[i] > claims[best]) best = i;
    const current = shopper ? matchShopper(shopper, boxes) : -1;
    if (current < 0) {
      this.#challenges = 0;
      return { index: best, changed: true };
    }
    if (best !== current && claims[best] > claims[current] * TAKEOVER_MARGIN) this.#challenges++;
    else this.#challenges = 0;
    if (this.#challenges >= TAKEOVER_CHECKS) {
      this.#challenges = 0;
      return { index: best, changed: true };
    }
    return { index: current, changed: false };
  }
}

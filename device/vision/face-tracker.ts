/**
 * The face stage: detect only when no face is tracked; otherwise run the mesh on a crop
 * predicted from the previous frame's landmarks (rotated upright by the eye line), as MediaPipe does.
 */
import type { FaceDetector, Detection } from './detector.ts';
import type { FaceMesh } from './mesh.ts';
import { regionBounds, type RgbImage, type SquareRegion } from './image-ops.ts';
import type { Face } from './face.ts';

export interface TrackerOptions {
  /** Mesh face-flag below this means the track is lost. */
  minMeshScore: number;
  /** Crop side relative to the landmarks' extent. */
  cropScale: number;
  /** Crop side relative to the detector's box (BlazeFace boxes are tight: brows to mouth). */
  detectionCropScale: number;
}

/** Subject's right and left outer eye corners in the 468-point mesh. */
const RIGHT_EYE_OUTER = 33;
const LEFT_EYE_OUTER = 263;

export interface FaceStageResult {
  faces: Face[];
  /** True when the detector ran on this frame (tracking was lost or never started). */
  detected: boolean;
  /** Faces the detector saw besides the shopper (counted, not rendered). */
  otherFaces: number;
}

export class FaceTracker {
  readonly #detector: FaceDetector;
  #mesh: FaceMesh;
  readonly #options: TrackerOptions;
  #region: SquareRegion | null = null;
  #otherFaces = 0;

  constructor(detector: FaceDetector, mesh: FaceMesh, options: TrackerOptions) {
    this.#detector = detector;
    this.#mesh = mesh;
    this.#options = options;
  }

  /**
   * Model update hook: the next frame runs on `mesh`. The caller keeps the returned previous mesh
   * (its model stays loaded, for a rollback) and disposes it only once no frame can be using it.
   */
  replaceMesh(mesh: FaceMesh): FaceMesh {
    const previous = this.#mesh;
    this.#mesh = mesh;
    return previous;
  }

  /** Forget the current track, e.g. when the source restarts. */
  reset(): void {
    this.#region = null;
  }

  async process(image: RgbImage): Promise<FaceStageResult> {
    let detected = false;
    if (this.#region) {
      const face = await this.#meshOn(image, this.#region);
      if (face) return { faces: [face], detected, otherFaces: this.#otherFaces };
      this.#region = null;
    }
    const detections = await this.#detector.detect(image);
    detected = true;
    this.#otherFaces = Math.max(0, detections.length - 1);
    if (detections.length === 0) return { faces: [], detected, otherFaces: 0 };
    // The nearest (largest) face is the shopper.
    const face = await this.#meshOn(image, this.#regionFromDetection(detections[0]));
    return { faces: face ? [face] : [], detected, otherFaces: this.#otherFaces };
  }

  async #meshOn(image: RgbImage, region: SquareRegion): Promise<Face | null> {
    const result = await this.#mesh.estimate(image, region);
    if (result.score < this.#options.minMeshScore) {
      this.#region = null;
      return null;
    }
    this.#region = this.#regionFromLandmarks(result.landmarks);
    return { box: regionBounds(region), score: result.score, landmarks: result.landmarks };
  }

  #regionFromDetection(d: Detection): SquareRegion {
    const [rightEye, leftEye] = d.keypoints;
    return {
      cx: d.box.x + d.box.width / 2,
      cy: d.box.y + d.box.height / 2,
      size: Math.max(d.box.width, d.box.height) * this.#options.detectionCropScale,
      angle: Math.atan2(leftEye[1] - rightEye[1], leftEye[0] - rightEye[0]),
    };
  }

  #regionFromLandmarks(points: Array<[number, number, number]>): SquareRegion {
    const a = points[RIGHT_EYE_OUTER];
    const b = points[LEFT_EYE_OUTER];
    const angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    // Extents in the face's own upright frame, so a tilted head gets a tight square.
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const [x, y] of points) {
      const u = cos * x + sin * y;
      const v = -sin * x + cos * y;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const cu = (minU + maxU) / 2;
    const cv = (minV + maxV) / 2;
    return {
      cx: cos * cu - sin * cv,
      cy: sin * cu + cos * cv,
      size: Math.max(maxU - minU, maxV - minV) * this.#options.cropScale,
      angle,
    };
  }
}

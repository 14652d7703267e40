/**
 * The attention mesh's outputs merged into 478 points, as MediaPipe's landmarks refinement does:
 * the 468-point mesh, its lips and eyes replaced by the refined 2-D points (depth kept from the
 * mesh), then 5 iris points per eye (left, then right) at the mean depth of that eye's points.
 * Which mesh point each refined one replaces is in the model's manifest (decode.refine).
 */
import type { AttentionMeshDecode } from '../../models/decode.ts';
import { ATTENTION_POINT_COUNT, MESH_POINT_COUNT } from './face.ts';
import type { Iris, IrisPair } from './iris.ts';

export function decodeAttentionMesh(spec: AttentionMeshDecode, get: (output: string) => Float32Array): Array<[number, number, number]> {
  const mesh = get(spec.landmarks);
  const points: Array<[number, number, number]> = new Array(468);
  for (let i = 0; i < 468; i++) points[i] = [mesh[3 * i], mesh[3 * i + 1], mesh[3 * i + 2]];
  const replace = (indices: readonly number[], data: Float32Array): void => {
    indices.forEach((m, k) => (points[m] = [data[2 * k], data[2 * k + 1], points[m][2]]));
  };
  replace(spec.refine.lips, get(spec.lips));
  replace(spec.refine.leftEye, get(spec.leftEye));
  replace(spec.refine.rightEye, get(spec.rightEye));
  for (const [eye, iris] of [[spec.refine.leftEye, spec.leftIris], [spec.refine.rightEye, spec.rightIris]] as const) {
    const depth = eye.reduce((s, m) => s + points[m][2], 0) / eye.length;
    const data = get(iris);
    for (let k = 0; k < 5; k++) points.push([data[2 * k], data[2 * k + 1], depth]);
  }
  return points;
}

/**
 * The irises of a 478-point attention mesh (null for a 468-point one): per eye the centre point and
 * the mean distance to its four rim points, as the iris model reports them.
 */
export function irisesOf(landmarks: ReadonlyArray<readonly [number, number, number]>): IrisPair | null {
  if (landmarks.length !== ATTENTION_POINT_COUNT) return null;
  const iris = (first: number): Iris => {
    const [cx, cy] = landmarks[first];
    const radius = [1, 2, 3, 4].reduce((s, k) => s + Math.hypot(landmarks[first + k][0] - cx, landmarks[first + k][1] - cy), 0) / 4;
    return { center: [cx, cy], radius };
  };
  // 468-472 ring the subject's right eye (mesh 33-133), 473-477 the left (decode.ts, refine).
  return { right: iris(MESH_POINT_COUNT), left: iris(MESH_POINT_COUNT + 5) };
}

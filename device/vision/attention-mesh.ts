/**
 * The attention mesh's outputs merged into 478 points, as MediaPipe's landmarks refinement does:
 * the 468-point mesh, its lips and eyes replaced by the refined 2-D points (depth kept from the
 * mesh), then 5 iris points per eye (left, then right) at the mean depth of that eye's points.
 * Which mesh point each refined one replaces is in the model's manifest (decode.refine).
 */
import type { AttentionMeshDecode } from '../../models/decode.ts';

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

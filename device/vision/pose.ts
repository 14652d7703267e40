/**
 * Head pose (yaw, pitch, roll in degrees) from the mesh's 3D points.
 *
 * The face's own axes are fitted by least squares over many points rather than two or four:
 * "across" is the mean of the vectors between 20 mirror-image point pairs (subject's right → left),
 * "down" is the mean of the vectors between 5 pairs on the midline (forehead → chin), made
 * orthogonal to "across". The mesh's z is in the same pixel units as x and y (weak perspective),
 * so these are true 3D directions. Camera axes: x right, y down, z into the scene.
 *
 * Rotation = Rz(roll) · Ry(yaw) · Rx(pitch), and on an unmirrored camera frame:
 *  - roll > 0: the head tilts clockwise in the image (the subject's left eye lower);
 *  - yaw > 0: the nose turns towards the image's left (the subject's own right);
 *  - pitch > 0: the chin goes down (looking down).
 * A frontal face reads 0 on all three: on MediaPipe's canonical face model (the geometry the mesh
 * is trained to) these same midline pairs lean 0.7 degrees out of the image plane, which
 * PITCH_OFFSET_DEG takes out; the pairs are symmetric there, so yaw and roll read 0.
 */
export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

/** Mirror-image pairs, subject's right then left. */
const PAIRS: ReadonlyArray<readonly [number, number]> = [
  [33, 263], [133, 362], [159, 386], [145, 374], [70, 300], [105, 334], [107, 336], [61, 291], [98, 327], [205, 425],
  [50, 280], [117, 346], [123, 352], [234, 454], [127, 356], [93, 323], [132, 361], [58, 288], [172, 397], [162, 389],
];
/** Midline pairs, top then bottom. */
const MIDLINE: ReadonlyArray<readonly [number, number]> = [
  [10, 152], [151, 175], [9, 199], [8, 200], [168, 18],
];

const PITCH_OFFSET_DEG = 0.7;

type V3 = [number, number, number];
const norm = (v: V3): V3 => {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
};
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const deg = (r: number) => (r * 180) / Math.PI;

function meanDelta(points: ReadonlyArray<readonly number[]>, pairs: ReadonlyArray<readonly [number, number]>): V3 {
  const v: V3 = [0, 0, 0];
  for (const [a, b] of pairs) for (let k = 0; k < 3; k++) v[k] += (points[b][k] ?? 0) - (points[a][k] ?? 0);
  return v;
}

/** The face's rotation as a row-major 3x3 matrix whose columns are its across, down and depth axes. */
export function faceRotation(landmarks: ReadonlyArray<readonly number[]>): number[] {
  const x = norm(meanDelta(landmarks, PAIRS));
  const down = meanDelta(landmarks, MIDLINE);
  const d = down[0] * x[0] + down[1] * x[1] + down[2] * x[2];
  const y = norm([down[0] - d * x[0], down[1] - d * x[1], down[2] - d * x[2]]);
  const z = cross(x, y);
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

export function headPose(landmarks: ReadonlyArray<readonly number[]>): HeadPose {
  const [r00, , , r10, , , r20, r21, r22] = faceRotation(landmarks);
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return {
    yaw: round1(deg(Math.asin(Math.max(-1, Math.min(1, -r20))))),
    pitch: round1(deg(Math.atan2(r21, r22)) - PITCH_OFFSET_DEG),
    roll: round1(deg(Math.atan2(r10, r00))),
  };
}

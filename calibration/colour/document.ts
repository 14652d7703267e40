/**
 * The colour profile as a fleet artifact (kind and name "colour-profile"): the signed bytes are
 * the profile JSON `calibrate color` writes, installed by the generic document host
 * (device/update/document-host.ts). Parse: the profile schema (profile.ts), a schema error is
 * `bad-colour-profile` naming the field. Smoke test: the matrix must be sane for a camera, since a
 * profile that validates can still wreck every frame (a pasted matrix, a sign flipped by hand):
 *
 *  - the linear 3x3 part is well conditioned: |det| in [MIN_DET, MAX_DET] and condition number
 *    (Frobenius) at most MAX_CONDITION. Fits of rendered charts under 3000-6500 K casts have
 *    det ≈ 1.1 and condition ≈ 1.5; a singular matrix folds colours onto a plane.
 *  - root-polynomial cross terms stay within ±MAX_CROSS;
 *  - a neutral grey ramp comes out neutral-ish and in order: luminance strictly rising (no
 *    inverted or flat tones).
 */
import type { DocumentKind } from '../../device/update/document-host.ts';
import { correctLinear } from './model.ts';
import { parseProfile, PROFILE_NAME, type ColourProfile } from './profile.ts';

export const PROFILE_DOCUMENT_FILE = 'colour-profile.json';
export const MIN_DET = 0.1;
export const MAX_DET = 10;
export const MAX_CONDITION = 50;
export const MAX_CROSS = 10;

type M3 = number[][];

function det3(m: M3): number {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/** Inverse by cofactors (the caller has checked the determinant). */
function inverse3(m: M3, d: number): M3 {
  const c = (r0: number, r1: number, c0: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  return [
    [c(1, 2, 1, 2) / d, -c(0, 2, 1, 2) / d, c(0, 1, 1, 2) / d],
    [-c(1, 2, 0, 2) / d, c(0, 2, 0, 2) / d, -c(0, 1, 0, 2) / d],
    [c(1, 2, 0, 1) / d, -c(0, 2, 0, 1) / d, c(0, 1, 0, 1) / d],
  ];
}

const frobenius = (m: M3): number => Math.sqrt(m.flat().reduce((s, v) => s + v * v, 0));

const luminance = ([r, g, b]: number[]): number => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Why this profile must not be applied to a camera's frames, or null when it is sane. */
export function profileProblem(p: ColourProfile): string | null {
  const all = [...p.matrix.flat(), ...p.whiteBalance, ...p.toneExponent];
  if (!all.every(Number.isFinite)) return 'colour profile: a coefficient is not a finite number';
  const linear = p.matrix.map((row) => row.slice(0, 3));
  const d = det3(linear);
  if (!(Math.abs(d) >= MIN_DET && Math.abs(d) <= MAX_DET)) {
    return `colour profile field "matrix": determinant ${d.toPrecision(3)} is outside ±[${MIN_DET}, ${MAX_DET}] (a camera's correction is near a rotation of its colours, not a collapse or a blow-up)`;
  }
  const condition = frobenius(linear) * frobenius(inverse3(linear, d));
  if (!(condition <= MAX_CONDITION)) return `colour profile field "matrix": condition number ${condition.toFixed(1)} is above ${MAX_CONDITION}`;
  const cross = p.matrix.flatMap((row) => row.slice(3));
  if (cross.some((k) => Math.abs(k) > MAX_CROSS)) return `colour profile field "matrix": a root-polynomial cross term is beyond ±${MAX_CROSS}`;
  let last = -Infinity;
  for (let i = 1; i <= 10; i++) {
    const v = (i / 10) ** 2.2;
    const y = luminance(correctLinear(p, [v, v, v]));
    if (!(y > last)) return `colour profile: greys come out ${y <= 0 ? 'black' : 'out of order'} (luminance ${y.toPrecision(3)} at grey ${i}/10)`;
    last = y;
  }
  return null;
}

/** The profile's document kind for the update agent. */
export const COLOUR_PROFILE_DOCUMENT: DocumentKind<ColourProfile> = {
  name: PROFILE_NAME,
  file: PROFILE_DOCUMENT_FILE,
  badReason: 'bad-colour-profile',
  parse: (bytes) => parseProfile(bytes, PROFILE_NAME),
  version: (p) => p.version,
  smoke: (p) => Promise.resolve(profileProblem(p)),
};

/**
 * A device's colour profile: the fitted model, what it was fitted on (camera, date) and how well
 * (ΔE2000 before and after). Written atomically (device/core/fs-atomic.ts), validated with zod on
 * every load: a corrupt or hand-edited file is refused with the field named, never half-applied.
 */
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from '../../device/core/fs-atomic.ts';
import { CalibrationError } from '../errors.ts';
import type { ColourFit } from './solve.ts';
import { TERM_COUNT } from './model.ts';

/** Where the daemon looks for the profile when the config names none: `<stateDir>/calibration/`. */
export const PROFILE_FILE = 'calibration/colour-profile.json';
/** The name the profile serves under in the models map (/healthz, telemetry, fleet versions). */
export const PROFILE_NAME = 'colour-profile';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const triple = (schema: z.ZodNumber) => z.tuple([schema, schema, schema]);
const deltas = z.strictObject({ mean: z.number().min(0), max: z.number().min(0) });

export const ColourProfile = z
  .strictObject({
    kind: z.literal('colour-profile'),
    v: z.literal(1),
    /** Fleet-style version (also the serving version reported to the fleet). */
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._+~-], starting alphanumeric'),
    cameraId: z.string().min(1).max(128),
    createdAt: z.iso.datetime(),
    method: z.enum(['matrix', 'root-polynomial']),
    whiteBalance: triple(z.number().positive().max(1000)),
    toneExponent: triple(z.number().min(0.25).max(4)),
    matrix: z.array(z.array(finite).min(3).max(6)).length(3),
    fit: z.strictObject({
      before: deltas,
      after: deltas,
      patches: z.array(z.strictObject({ name: z.string(), before: z.number(), after: z.number(), clipped: z.boolean() })).length(24),
    }),
  })
  .refine((p) => p.matrix.every((row) => row.length === TERM_COUNT[p.method]), {
    message: 'each matrix row must have 3 coefficients (matrix) or 6 (root-polynomial)',
    path: ['matrix'],
  });

export type ColourProfile = z.infer<typeof ColourProfile>;

export function profileFromFit(fit: ColourFit, cameraId: string, createdAt = new Date()): ColourProfile {
  const iso = createdAt.toISOString();
  return {
    kind: 'colour-profile',
    v: 1,
    version: `cc-${iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`,
    cameraId,
    createdAt: iso,
    method: fit.model.method,
    whiteBalance: fit.model.whiteBalance,
    toneExponent: fit.model.toneExponent,
    matrix: fit.model.matrix,
    fit: {
      before: fit.before,
      after: fit.after,
      patches: fit.patches.map(({ name, before, after, clipped }) => ({ name, before, after, clipped })),
    },
  };
}

/** Parses and validates profile JSON (bytes or a parsed value); the error names the first bad field. */
export function parseProfile(input: unknown, source: string): ColourProfile {
  let value = input;
  if (Buffer.isBuffer(input) || typeof input === 'string') {
    try {
      value = JSON.parse(input.toString());
    } catch (err) {
      throw new CalibrationError('bad-profile', `${source} is not JSON (${(err as Error).message})`);
    }
  }
  const parsed = ColourProfile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CalibrationError('bad-profile', `${source}: field "${issue.path.join('.') || '(root)'}" ${issue.message}`);
  }
  return parsed.data;
}

/** The profile at `file`, or null when there is none; throws CalibrationError when it is unusable. */
export async function loadProfile(file: string): Promise<ColourProfile | null> {
  let value: unknown;
  try {
    value = await readJsonFile(file);
  } catch (err) {
    throw new CalibrationError('bad-profile', `${file} does not read as JSON (${(err as Error).message})`);
  }
  return value === undefined ? null : parseProfile(value, file);
}

export async function saveProfile(file: string, profile: ColourProfile): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(ColourProfile.parse(profile), null, 2)}\n`);
}

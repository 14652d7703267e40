/**
 * The model registry: one manifest per model (task, format, contract, version, file hashes).
 * Loading a model always goes through `resolveModel`, so a truncated or swapped file is
 * refused with an error that names the model before any runtime sees it.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MirrorError } from '../fleet/protocol/errors.ts';
import { DecodeSpec, manifestProblems, MODEL_TASKS, MODEL_VARIANTS, type ModelVariant } from './decode.ts';

/**
 * How far a compressed variant's decoded output is from its float32 original, measured by the
 * converter (models/converter/variants.ts) on held-out photos: `metric` says in what (landmark
 * pixels, box IoU, mask probability), `mean` and `worst` over `samples` faces or frames.
 */
const ParityReport = z.strictObject({
  metric: z.enum(['landmark-px', 'box-iou', 'mask-abs']),
  mean: z.number(),
  worst: z.number(),
  samples: z.number().int().min(1),
  photos: z.string(),
});
export type ParityReport = z.infer<typeof ParityReport>;

const manifestDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifests');

export const MODEL_FORMATS = ['tfjs-graph', 'onnx'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

const ModelManifestShape = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  task: z.enum(MODEL_TASKS),
  format: z.enum(MODEL_FORMATS),
  version: z.string().min(1),
  license: z.string(),
  /** npm package that ships the files; absent when the files live under models/ in this repo. */
  package: z.string().optional(),
  files: z
    .array(z.strictObject({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(1).optional() }))
    .min(1),
  /** Batch 1, NHWC RGB; `range` is the normalisation: 0..255 pixel values are mapped linearly onto it. */
  input: z.strictObject({
    shape: z.array(z.number().int()),
    layout: z.literal('NHWC'),
    range: z.tuple([z.number(), z.number()]),
  }),
  /** Every output the decoder reads: graph output name → number of values (batch 1). */
  outputs: z.record(z.string(), z.number().int().min(1)),
  /** How the outputs become detections, landmarks or masks (models/decode.ts). */
  decode: DecodeSpec,
  /** What the model was derived from: its source graph (conversion) and, for a compressed variant, how. */
  convertedFrom: z
    .strictObject({
      format: z.enum(MODEL_FORMATS),
      version: z.string(),
      converter: z.string(),
      /** A compressed variant of the `format` model: its precision and its measured parity with it. */
      variant: z.enum(MODEL_VARIANTS).optional(),
      parity: ParityReport.optional(),
    })
    .optional(),
});

/** The schema plus the checks that tie fields together (input size vs anchors, decode vs outputs), each naming its field. */
const ModelManifest = ModelManifestShape.superRefine((m, ctx) => {
  for (const problem of manifestProblems(m)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});
export type ModelManifest = z.infer<typeof ModelManifestShape>;

export interface ResolvedModel {
  manifest: ModelManifest;
  /** File contents keyed by file name, already verified against the manifest. */
  files: Map<string, Buffer>;
}

/**
 * One manifest file per model and format: `<name>.json` for the TF.js graph (the original) and
 * `<name>.<format>.json` for the others (`face-mesh.onnx.json`).
 */
export function manifestFileName(name: string, format: ModelFormat = 'tfjs-graph', variant: ModelVariant = 'fp32'): string {
  const base = format === 'tfjs-graph' ? name : `${name}.${format}`;
  return variant === 'fp32' ? `${base}.json` : `${base}.${variant}.json`;
}

/** The compressed variants of `name` in `format` that have a manifest (fp32, the original, first). */
export async function availableVariants(name: string, format: ModelFormat, dir = manifestDir): Promise<ModelVariant[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  return MODEL_VARIANTS.filter((v) => entries.includes(manifestFileName(name, format, v)));
}

/** The formats in which `name` is available (a manifest exists), original first. */
export async function availableFormats(name: string, dir = manifestDir): Promise<ModelFormat[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  return MODEL_FORMATS.filter((f) => entries.includes(manifestFileName(name, f)));
}

export async function loadManifest(name: string, dir = manifestDir, format: ModelFormat = 'tfjs-graph', variant: ModelVariant = 'fp32'): Promise<ModelManifest> {
  const file = path.join(dir, manifestFileName(name, format, variant));
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new MirrorError('MIRROR_ERR_MODEL_MANIFEST', `model ${name}: cannot read manifest ${file}: ${(err as Error).message}`);
  }
  const parsed = ModelManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MirrorError('MIRROR_ERR_MODEL_MANIFEST', `model ${name}: manifest field "${issue.path.join('.')}": ${issue.message}`);
  }
  if ((parsed.data.convertedFrom?.variant ?? 'fp32') !== variant) {
    throw new MirrorError('MIRROR_ERR_MODEL_MANIFEST', `model ${name}: manifest ${file} describes the ${parsed.data.convertedFrom?.variant ?? 'fp32'} variant, expected ${variant}`);
  }
  if (parsed.data.name !== name || parsed.data.format !== format) {
    throw new MirrorError(
      'MIRROR_ERR_MODEL_MANIFEST',
      `model ${name}: manifest ${file} describes ${parsed.data.name} (${parsed.data.format}), expected ${name} (${format})`,
    );
  }
  return parsed.data;
}

function baseDirOf(manifest: ModelManifest, manifestFileDir: string): string {
  if (!manifest.package) return path.resolve(manifestFileDir, '..');
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve(`${manifest.package}/package.json`));
}

/** Reads and verifies every file of a model. */
export async function resolveModel(name: string, dir = manifestDir, format: ModelFormat = 'tfjs-graph', variant: ModelVariant = 'fp32'): Promise<ResolvedModel> {
  const manifest = await loadManifest(name, dir, format, variant);
  const base = baseDirOf(manifest, dir);
  const files = new Map<string, Buffer>();
  for (const entry of manifest.files) {
    const file = path.join(base, entry.path);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new MirrorError('MIRROR_ERR_MODEL_FILE', `model ${name}: cannot read ${entry.path}: ${(err as Error).message}`);
    }
    if (entry.size !== undefined && bytes.length !== entry.size) {
      const how = bytes.length < entry.size ? 'truncated' : 'too long';
      throw new MirrorError('MIRROR_ERR_MODEL_HASH', `model ${name}: ${entry.path} is ${how}: ${bytes.length} bytes, manifest says ${entry.size}`);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== entry.sha256) {
      throw new MirrorError('MIRROR_ERR_MODEL_HASH', `model ${name}: ${entry.path} has sha256 ${digest}, manifest says ${entry.sha256}`);
    }
    files.set(path.basename(entry.path), bytes);
  }
  return { manifest, files };
}

/**
 * The contract every GAN try-on model follows (the reference model trained here and production
 * models trained elsewhere and delivered by the fleet): a directory holding `manifest.json` and the
 * files it lists.
 *
 * A model takes three tensors, all `input.size` square and aligned by the device from the face
 * mesh (device/gan/align.ts, alignment `eyes-mouth-v1`):
 *   image   the bare face crop, RGB                     [1, 3, size, size]   range input.range
 *   render  the classical render of the products on it  [1, 3, size, size]   range input.range
 *   mask    where the render made the face up, 0..1     [1, 1, size, size]
 * and returns `refined`, the refined crop, RGB [1, 3, size, size] in input.range. The device pastes
 * the refinement back (feathered, only where the mask reaches).
 *
 * `latencyClass` says where the model is meant to run every frame: `cpu-realtime` (within a frame's
 * budget on one CPU core of the reference box), `gpu-realtime` (on a CUDA/TensorRT GPU; on a CPU the
 * device runs it every Nth frame or not at all), `offline` (never in the live loop).
 *
 * verifyGanModel reads the manifest and every file, and refuses a model naming the field that is
 * wrong: a schema error (`input.size`, `format`, ...), a file whose size or sha256 differs
 * (`files[0].sha256`). The tensor shapes declared here are checked against the model's own graph
 * when the device opens it (device/gan/gan-model.ts).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MirrorError } from '../../fleet/protocol/errors.ts';

/** The reference model trained by `npm run train:gan`, committed with its manifest. */
export const REFERENCE_GAN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reference');

export const GAN_LATENCY_CLASSES = ['cpu-realtime', 'gpu-realtime', 'offline'] as const;
export type GanLatencyClass = (typeof GAN_LATENCY_CLASSES)[number];

/** The alignment the device implements; a model trained on another alignment is refused. */
export const GAN_ALIGNMENT = 'eyes-mouth-v1';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

export const GanManifestSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be 1-64 lowercase letters, digits or "-"'),
  task: z.literal('makeup-refinement'),
  format: z.enum(['onnx', 'tfjs-graph']),
  version: z.string().min(1).max(128),
  license: z.string().min(1),
  files: z
    .array(
      z.strictObject({
        path: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a plain file name in the model directory'),
        sha256: sha256Hex,
        size: z.number().int().min(1),
      }),
    )
    .min(1),
  input: z.strictObject({
    /** Side of the aligned square crop, pixels. */
    size: z.number().int().min(32).max(512),
    layout: z.literal('NCHW'),
    /** Pixel value range of image, render and refined (8-bit levels mapped linearly). */
    range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => hi > lo, 'must be [low, high] with high > low'),
    alignment: z.literal(GAN_ALIGNMENT),
  }),
  tensors: z.strictObject({
    image: z.string().min(1),
    render: z.string().min(1),
    mask: z.string().min(1),
    refined: z.string().min(1),
  }),
  latencyClass: z.enum(GAN_LATENCY_CLASSES),
  /** Parameters of the generator (a fact about the model, shown in /healthz). */
  parameters: z.number().int().min(1),
  /** Free-form provenance: training config, data, measured numbers. */
  training: z.record(z.string(), z.unknown()).optional(),
});
export type GanManifest = z.infer<typeof GanManifestSchema>;

/** The tensor shapes a manifest declares (NCHW). */
export function ganTensorShapes(manifest: GanManifest): Record<'image' | 'render' | 'mask' | 'refined', number[]> {
  const s = manifest.input.size;
  return { image: [1, 3, s, s], render: [1, 3, s, s], mask: [1, 1, s, s], refined: [1, 3, s, s] };
}

export interface VerifiedGanModel {
  manifest: GanManifest;
  dir: string;
  /** File contents by manifest path, verified. */
  files: Map<string, Buffer>;
}

const fieldName = (p: ReadonlyArray<PropertyKey>): string => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');

/** Validates a manifest object; throws MIRROR_ERR_MODEL_MANIFEST naming the first wrong field. */
export function parseGanManifest(raw: unknown, where = 'manifest'): GanManifest {
  const parsed = GanManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MirrorError('MIRROR_ERR_MODEL_MANIFEST', `GAN model ${where}: field "${fieldName(issue.path)}": ${issue.message}`);
  }
  return parsed.data;
}

/** Reads `<dir>/manifest.json`, validates it and verifies every file's size and sha256. */
export async function verifyGanModel(dir: string): Promise<VerifiedGanModel> {
  const file = path.join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new MirrorError('MIRROR_ERR_MODEL_MANIFEST', `GAN model ${file}: cannot read the manifest: ${(err as Error).message}`);
  }
  const manifest = parseGanManifest(raw, file);
  const files = new Map<string, Buffer>();
  for (const [i, entry] of manifest.files.entries()) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(dir, entry.path));
    } catch (err) {
      throw new MirrorError('MIRROR_ERR_MODEL_FILE', `GAN model ${manifest.name}: field "files[${i}].path": cannot read ${entry.path}: ${(err as Error).message}`);
    }
    if (bytes.length !== entry.size) {
      throw new MirrorError('MIRROR_ERR_MODEL_HASH', `GAN model ${manifest.name}: field "files[${i}].size": ${entry.path} is ${bytes.length} bytes, manifest says ${entry.size}`);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== entry.sha256) {
      throw new MirrorError('MIRROR_ERR_MODEL_HASH', `GAN model ${manifest.name}: field "files[${i}].sha256": ${entry.path} has sha256 ${digest}, manifest says ${entry.sha256}`);
    }
    files.set(entry.path, bytes);
  }
  return { manifest, dir, files };
}

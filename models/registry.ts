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

const manifestDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifests');

export const MODEL_FORMATS = ['tfjs-graph', 'onnx'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

const ModelManifest = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  task: z.enum(['face-detection', 'face-landmarks', 'iris-landmarks', 'segmentation']),
  format: z.enum(MODEL_FORMATS),
  version: z.string().min(1),
  license: z.string(),
  /** npm package that ships the files; absent when the files live under models/ in this repo. */
  package: z.string().optional(),
  files: z
    .array(z.strictObject({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(1).optional() }))
    .min(1),
  input: z.strictObject({
    shape: z.array(z.number().int()),
    layout: z.literal('NHWC'),
    range: z.tuple([z.number(), z.number()]),
  }),
  outputs: z.record(z.string(), z.number()),
  /** For converted models: what they were converted from (the parity test compares the two). */
  convertedFrom: z
    .strictObject({ format: z.enum(MODEL_FORMATS), version: z.string(), converter: z.string() })
    .optional(),
});
export type ModelManifest = z.infer<typeof ModelManifest>;

export interface ResolvedModel {
  manifest: ModelManifest;
  /** File contents keyed by file name, already verified against the manifest. */
  files: Map<string, Buffer>;
}

/**
 * One manifest file per model and format: `<name>.json` for the TF.js graph (the original) and
 * `<name>.<format>.json` for the others (`face-mesh.onnx.json`).
 */
export function manifestFileName(name: string, format: ModelFormat = 'tfjs-graph'): string {
  return format === 'tfjs-graph' ? `${name}.json` : `${name}.${format}.json`;
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

export async function loadManifest(name: string, dir = manifestDir, format: ModelFormat = 'tfjs-graph'): Promise<ModelManifest> {
  const file = path.join(dir, manifestFileName(name, format));
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
export async function resolveModel(name: string, dir = manifestDir, format: ModelFormat = 'tfjs-graph'): Promise<ResolvedModel> {
  const manifest = await loadManifest(name, dir, format);
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

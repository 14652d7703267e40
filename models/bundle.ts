/**
 * The model update artifact: one file holding a model's manifest and all its files.
 *
 *   bytes 0..7    "MIRRORB1"                         magic (format version 1)
 *   bytes 8..11   header length N, uint32 big-endian (at most 1 MiB)
 *   next N bytes  header, UTF-8 JSON:
 *                 { format: "mirror-model-bundle/1",
 *                   manifest: <model manifest (models/manifests schema), version = the artifact's>,
 *                   files: [{ path: "files/<name>", size, sha256 }] }   in payload order
 *   the rest      the files' bytes, concatenated in header order (nothing after the last one)
 *
 * The artifact's size, sha256 and Ed25519 signature (fleet/protocol/update.ts) cover the whole
 * file; the per-file hashes are checked again when the bundle is unpacked and every time the model
 * is loaded (the registry verifies the manifest's hashes). `manifest.files[].path` are the same
 * relative `files/...` paths, so an unpacked bundle is a registry directory:
 *   <dir>/manifests/<name>[.<format>][.<variant>].json (registry.manifestFileName)  and  <dir>/files/...
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MirrorError } from '../fleet/protocol/errors.ts';
import { MODEL_VARIANTS } from './decode.ts';
import { manifestFileName, MODEL_FORMATS, resolveModel, type ModelFormat, type ModelManifest } from './registry.ts';

export const BUNDLE_MAGIC = Buffer.from('MIRRORB1', 'ascii');
export const BUNDLE_FORMAT = 'mirror-model-bundle/1';
const MAX_HEADER_BYTES = 1024 * 1024;
const SAFE_PATH = /^files\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface BundleFile {
  path: string;
  data: Buffer;
}

export interface ParsedBundle {
  /** Checked only for shape here; the registry validates it fully when the model is loaded. */
  manifest: ModelManifest;
  files: BundleFile[];
}

/** A malformed bundle (code MIRROR_ERR_BUNDLE in the device's error catalogue). */
export class BundleError extends MirrorError {
  constructor(message: string) {
    super('MIRROR_ERR_BUNDLE', message);
    this.name = 'BundleError';
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Builds a bundle from a manifest and its files (paths are rewritten to `files/<basename>`). */
export function buildBundle(manifest: ModelManifest, files: Map<string, Buffer>): Buffer {
  const entries: BundleFile[] = [];
  const manifestFiles: Array<{ path: string; sha256: string }> = [];
  for (const f of manifest.files) {
    const base = path.basename(f.path);
    const data = files.get(f.path) ?? files.get(base);
    if (!data) throw new BundleError(`bundle: file ${f.path} of model ${manifest.name} is missing`);
    const rel = `files/${base}`;
    if (!SAFE_PATH.test(rel)) throw new BundleError(`bundle: unsafe file name ${JSON.stringify(base)}`);
    entries.push({ path: rel, data });
    manifestFiles.push({ path: rel, sha256: sha256(data) });
  }
  const { package: _pkg, ...rest } = manifest;
  const header = {
    format: BUNDLE_FORMAT,
    manifest: { ...rest, files: manifestFiles },
    files: entries.map((e) => ({ path: e.path, size: e.data.byteLength, sha256: sha256(e.data) })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(headerBytes.byteLength);
  return Buffer.concat([BUNDLE_MAGIC, len, headerBytes, ...entries.map((e) => e.data)]);
}

/** Parses and checks a bundle; throws BundleError naming what is wrong. */
export function parseBundle(bytes: Buffer): ParsedBundle {
  if (bytes.byteLength < 12 || !bytes.subarray(0, 8).equals(BUNDLE_MAGIC)) throw new BundleError('bundle: not a mirror model bundle (bad magic)');
  const headerLen = bytes.readUInt32BE(8);
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 12 + headerLen > bytes.byteLength) {
    throw new BundleError(`bundle: header length ${headerLen} is out of range`);
  }
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLen).toString('utf8'));
  } catch (err) {
    throw new BundleError(`bundle: header is not JSON (${(err as Error).message})`);
  }
  const h = header as { format?: unknown; manifest?: unknown; files?: unknown };
  if (typeof h !== 'object' || h === null || h.format !== BUNDLE_FORMAT) throw new BundleError('bundle: unknown header format');
  const m = h.manifest as ModelManifest | undefined;
  if (typeof m !== 'object' || m === null || typeof m.name !== 'string' || typeof m.version !== 'string' || !Array.isArray(m.files)) {
    throw new BundleError('bundle: header has no valid manifest');
  }
  if (!/^[a-z0-9-]{1,64}$/.test(m.name)) throw new BundleError(`bundle: invalid model name ${JSON.stringify(m.name)}`);
  // Format and variant name the manifest's file when unpacked (writeBundleFiles): only known ones.
  if (!(MODEL_FORMATS as readonly unknown[]).includes(m.format)) throw new BundleError(`bundle: manifest.format ${JSON.stringify(m.format)} is not one of ${MODEL_FORMATS.join(', ')}`);
  const variant = (m.convertedFrom as { variant?: unknown } | undefined)?.variant;
  if (variant !== undefined && !(MODEL_VARIANTS as readonly unknown[]).includes(variant)) throw new BundleError(`bundle: manifest.convertedFrom.variant ${JSON.stringify(variant)} is unknown`);
  if (!Array.isArray(h.files) || h.files.length === 0 || h.files.length > 64) throw new BundleError('bundle: header lists no files');
  const files: BundleFile[] = [];
  let offset = 12 + headerLen;
  const seen = new Set<string>();
  for (const f of h.files as Array<{ path?: unknown; size?: unknown; sha256?: unknown }>) {
    if (typeof f.path !== 'string' || !SAFE_PATH.test(f.path) || seen.has(f.path)) {
      throw new BundleError(`bundle: unsafe or duplicate file path ${JSON.stringify(f.path)}`);
    }
    seen.add(f.path);
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0 || offset + f.size > bytes.byteLength) {
      throw new BundleError(`bundle: file ${f.path} overruns the bundle (truncated?)`);
    }
    const data = bytes.subarray(offset, offset + f.size);
    offset += f.size;
    if (sha256(data) !== f.sha256) throw new BundleError(`bundle: file ${f.path} does not match its sha256`);
    files.push({ path: f.path, data });
  }
  if (offset !== bytes.byteLength) throw new BundleError(`bundle: ${bytes.byteLength - offset} unexpected bytes after the last file`);
  for (const mf of m.files) {
    const f = files.find((x) => x.path === mf.path);
    if (!f || sha256(f.data) !== mf.sha256) throw new BundleError(`bundle: manifest file ${mf.path} is missing or differs`);
  }
  return { manifest: m, files };
}

/**
 * A bundle of a registered model (verified by the registry), re-versioned. `format`: which of its
 * files travel (the ONNX model for a mirror that serves ONNX Runtime, the TF.js graph otherwise).
 */
export async function bundleFromRegistry(name: string, version: string, manifestDir?: string, format: ModelFormat = 'tfjs-graph'): Promise<Buffer> {
  const resolved = await resolveModel(name, manifestDir, format);
  return buildBundle({ ...resolved.manifest, version }, resolved.files);
}

/**
 * A bundle from a model directory: `<dir>/manifest.json` (a model manifest whose file paths are
 * relative to `dir`) or, failing that, the registry layout `<dir>/manifests/<name>.json`.
 */
export async function bundleFromDir(dir: string, version?: string): Promise<Buffer> {
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  } catch {
    const names = (await readdir(path.join(dir, 'manifests')).catch(() => [])).filter((f) => f.endsWith('.json'));
    if (names.length !== 1) throw new BundleError(`bundle: ${dir} has neither manifest.json nor exactly one manifests/*.json`);
    const manifestDir = path.join(dir, 'manifests');
    // The file name says name, format and variant (registry.manifestFileName); the manifest says them too.
    const named = JSON.parse(await readFile(path.join(manifestDir, names[0]), 'utf8')) as ModelManifest;
    const resolved = await resolveModel(named.name, manifestDir, named.format, named.convertedFrom?.variant);
    return buildBundle({ ...resolved.manifest, ...(version ? { version } : {}) }, resolved.files);
  }
  const files = new Map<string, Buffer>();
  for (const f of manifest.files) files.set(f.path, await readFile(path.join(dir, f.path)));
  return buildBundle({ ...manifest, ...(version ? { version } : {}) }, files);
}

/** Unpacks a parsed bundle into `dir` as a registry directory (the caller makes it atomic). */
export async function writeBundleFiles(bundle: ParsedBundle, dir: string, write: (file: string, data: Buffer) => Promise<void>): Promise<void> {
  await mkdir(path.join(dir, 'manifests'), { recursive: true });
  await mkdir(path.join(dir, 'files'), { recursive: true });
  for (const f of bundle.files) await write(path.join(dir, f.path), f.data);
  const { name, format, convertedFrom } = bundle.manifest;
  await write(path.join(dir, 'manifests', manifestFileName(name, format, convertedFrom?.variant)), Buffer.from(JSON.stringify(bundle.manifest, null, 2)));
}

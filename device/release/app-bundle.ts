/**
 * The application update artifact (kind "app"): one file holding a release's code, its lockfile,
 * and either its dependencies or the promise that the mirror already has them (same lockfile).
 *
 *   bytes 0..7    "MIRRORA1"                          magic (format version 1)
 *   bytes 8..11   header length N, uint32 big-endian (at most 16 MiB)
 *   next N bytes  header, UTF-8 JSON (AppBundleHeaderSchema):
 *                 { format: "mirror-app-bundle/1", name: "app", version, lockSha256, deps: "included" | "reuse",
 *                   files: [{ path, size, sha256, mode, from?: "base" }] }
 *   the rest      the bytes of every file without `from`, concatenated in header order
 *
 * Every file of the release is listed with its sha256. A file marked `from: "base"` is not carried:
 * the release it was made against (make-release --base) has it, and staging hard-links it from the
 * running release after checking its sha256, so a release that changes a few files is a small
 * download. `node_modules/...` files (deps "included") go to the shared `.deps/<lockSha256>/`;
 * with deps "reuse" the mirror must already hold the dependencies of that exact lockfile.
 * The artifact's size, sha256 and Ed25519 signature (fleet/protocol/update.ts) cover the whole file.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { APP_NAME } from './layout.ts';

export const APP_BUNDLE_MAGIC = Buffer.from('MIRRORA1', 'ascii');
export const APP_BUNDLE_FORMAT = 'mirror-app-bundle/1';
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Relative, forward slashes, no `.`/`..` segment, no hidden trick: what a release folder may hold. */
const SAFE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_@.+~-][A-Za-z0-9_@.+~ -]*(?:\/[A-Za-z0-9_@.+~-][A-Za-z0-9_@.+~ -]*)*$/;
/** Written by staging from the header, never taken from the bundle. */
const RESERVED = new Set(['release.json', 'current', 'node_modules']);

export const AppFileSchema = z.object({
  path: z
    .string()
    .max(512)
    .regex(SAFE_PATH, { error: 'must be a relative path without . or .. segments' })
    .refine((p) => !RESERVED.has(p), { error: 'is written by the mirror, not carried in a bundle' }),
  size: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mode: z.union([z.literal(0o644), z.literal(0o755)]),
  from: z.literal('base').optional(),
});
export type AppFile = z.infer<typeof AppFileSchema>;

export const AppBundleHeaderSchema = z.object({
  format: z.literal(APP_BUNDLE_FORMAT),
  name: z.literal(APP_NAME),
  version: z.string().min(1).max(64),
  /** sha256 of the release's package-lock.json (listed in `files`). */
  lockSha256: z.string().regex(/^[0-9a-f]{64}$/),
  deps: z.enum(['included', 'reuse']),
  /** What `from: "base"` files were taken against (for the operator's eyes; the sha256 decides). */
  base: z.string().max(64).optional(),
  files: z.array(AppFileSchema).min(1),
});
export type AppBundleHeader = z.infer<typeof AppBundleHeaderSchema>;

/** A malformed application bundle, naming what is wrong. */
export class AppBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppBundleError';
  }
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface AppBundleInput {
  version: string;
  deps: 'included' | 'reuse';
  base?: string;
  /** Files in order; `data` absent = taken from the base release (sha256 and size given). */
  files: Array<{ path: string; mode: 0o644 | 0o755; sha256: string; size: number; data?: Buffer }>;
}

export function buildAppBundle(input: AppBundleInput): Buffer {
  const lock = input.files.find((f) => f.path === 'package-lock.json');
  if (!lock) throw new AppBundleError('app bundle: package-lock.json is not in the release');
  const header = AppBundleHeaderSchema.parse({
    format: APP_BUNDLE_FORMAT,
    name: APP_NAME,
    version: input.version,
    lockSha256: lock.sha256,
    deps: input.deps,
    ...(input.base ? { base: input.base } : {}),
    files: input.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, mode: f.mode, ...(f.data ? {} : { from: 'base' as const }) })),
  });
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(headerBytes.byteLength);
  return Buffer.concat([APP_BUNDLE_MAGIC, len, headerBytes, ...input.files.flatMap((f) => (f.data ? [f.data] : []))]);
}

export interface ParsedAppBundle {
  header: AppBundleHeader;
  /** The carried bytes of each file without `from` (by path), sha256 checked. */
  data: Map<string, Buffer>;
}

/** Parses and checks a bundle (header shape, sizes, every carried file's sha256); throws AppBundleError. */
export function parseAppBundle(bytes: Buffer): ParsedAppBundle {
  if (bytes.byteLength < 12 || !bytes.subarray(0, 8).equals(APP_BUNDLE_MAGIC)) throw new AppBundleError('app bundle: not a mirror application bundle (bad magic)');
  const headerLen = bytes.readUInt32BE(8);
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 12 + headerLen > bytes.byteLength) throw new AppBundleError(`app bundle: header length ${headerLen} is out of range`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.subarray(12, 12 + headerLen).toString('utf8'));
  } catch {
    throw new AppBundleError('app bundle: header is not JSON');
  }
  const parsed = AppBundleHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppBundleError(`app bundle: header field ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  const header = parsed.data;
  const seen = new Set<string>();
  const data = new Map<string, Buffer>();
  let offset = 12 + headerLen;
  for (const f of header.files) {
    if (seen.has(f.path)) throw new AppBundleError(`app bundle: ${f.path} is listed twice`);
    seen.add(f.path);
    if (f.from === 'base') continue;
    if (offset + f.size > bytes.byteLength) throw new AppBundleError(`app bundle: ${f.path} runs past the end of the file`);
    const slice = bytes.subarray(offset, offset + f.size);
    if (sha256(slice) !== f.sha256) throw new AppBundleError(`app bundle: ${f.path} does not match its sha256`);
    data.set(f.path, slice);
    offset += f.size;
  }
  if (offset !== bytes.byteLength) throw new AppBundleError(`app bundle: ${bytes.byteLength - offset} bytes after the last file`);
  const lock = header.files.find((f) => f.path === 'package-lock.json');
  if (!lock || lock.sha256 !== header.lockSha256) throw new AppBundleError('app bundle: lockSha256 does not name the package-lock.json it lists');
  if (header.deps === 'reuse' && header.files.some((f) => f.path.startsWith('node_modules/'))) {
    throw new AppBundleError('app bundle: deps "reuse" but node_modules files are listed');
  }
  return { header, data };
}

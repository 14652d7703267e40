/**
 * Makes an application bundle (app-bundle.ts) from a working tree: every file of the release
 * listed with its sha256; against a base (the bundle of the release the mirrors run), the files it
 * already has are listed `from: "base"` and not carried. Dependencies are carried only when asked
 * (`withDeps`); otherwise mirrors must hold the tree of the same lockfile (the usual case: a code
 * change) and staging says so clearly when they do not.
 */
import { readFile } from 'node:fs/promises';
import { buildAppBundle, parseAppBundle } from './app-bundle.ts';
import { codePaths, depPaths, describeFile, describeText } from './release-files.ts';

export interface PackOptions {
  root: string;
  version: string;
  /** The bundle of the release the mirrors run (its header lists every file's sha256). */
  base?: Buffer;
  withDeps?: boolean;
  /** Contents that replace the tree's own for these paths (generated files; a test's broken release). */
  overrides?: Readonly<Record<string, string>>;
}

export interface Packed {
  bundle: Buffer;
  files: number;
  carried: number;
  fromBase: number;
  carriedBytes: number;
}

export async function packRelease(o: PackOptions): Promise<Packed> {
  const baseFiles = new Map<string, string>();
  let baseVersion: string | undefined;
  if (o.base) {
    const { header } = parseAppBundle(o.base);
    baseVersion = header.version;
    for (const f of header.files) baseFiles.set(f.path, f.sha256);
  }
  const paths = [...(await codePaths(o.root)), ...(o.withDeps ? await depPaths(o.root) : [])];
  const files = [];
  let carriedBytes = 0;
  for (const p of paths) {
    const override = o.overrides?.[p];
    const f = override === undefined ? await describeFile(o.root, p) : describeText(p, override);
    const reuse = baseFiles.get(p) === f.sha256 && !p.startsWith('node_modules/');
    const data = reuse ? undefined : override === undefined ? await readFile(f.abs) : Buffer.from(override);
    carriedBytes += data?.byteLength ?? 0;
    files.push({ path: f.path, mode: f.mode, size: f.size, sha256: f.sha256, ...(data ? { data } : {}) });
  }
  const bundle = buildAppBundle({ version: o.version, deps: o.withDeps ? 'included' : 'reuse', ...(baseVersion ? { base: baseVersion } : {}), files });
  const carried = files.filter((f) => f.data).length;
  return { bundle, files: files.length, carried, fromBase: files.length - carried, carriedBytes };
}

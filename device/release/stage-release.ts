/**
 * Writes a verified application bundle out as a release folder (into `dir`, a fresh directory the
 * update agent renames into place whole): carried files written and fsynced, `from: "base"` files
 * hard-linked from the running release once their sha256 matches, the dependencies put in (or found
 * in) the shared `.deps/<lockSha256>/`, then release.json. Throws UpdateStageError naming the file
 * or the dependency tree that is missing: the artifact is then unusable on this mirror.
 */
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, symlink, chmod } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Artifact } from '../../fleet/protocol/update.ts';
import { fsyncDir, writeFileAtomic, writeFileDurable } from '../core/fs-atomic.ts';
import { UpdateStageError } from '../update/host.ts';
import { AppBundleError, parseAppBundle, type AppFile } from './app-bundle.ts';
import { DEPS_DIR, RELEASE_FILE, type ReleaseInfo, type ReleaseLayout } from './layout.ts';

async function sha256OfFile(file: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

/** Hard link (the release folders share a filesystem), a copy where they do not. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    await copyFile(from, to);
  }
}

export interface StageReleaseOptions {
  layout: ReleaseLayout;
  /** The running release's folder: where `from: "base"` files are taken from (null: none). */
  baseDir: string | null;
}

export async function stageRelease(artifact: Artifact, bytes: Buffer, dir: string, opts: StageReleaseOptions): Promise<ReleaseInfo> {
  let bundle;
  try {
    bundle = parseAppBundle(bytes);
  } catch (err) {
    if (err instanceof AppBundleError) throw new UpdateStageError('bad-bundle', err.message);
    throw err;
  }
  const { header, data } = bundle;
  if (header.version !== artifact.version) throw new UpdateStageError('bad-bundle', `app bundle version "${header.version}", artifact says "${artifact.version}"`);
  const depsDir = opts.layout.depsDir(header.lockSha256);
  const haveDeps = await stat(path.join(depsDir, 'node_modules')).then((s) => s.isDirectory(), () => false);
  if (header.deps === 'reuse' && !haveDeps) {
    throw new UpdateStageError('bad-bundle', `the dependencies of lockfile ${header.lockSha256.slice(0, 12)} are not on this mirror and not in the bundle (make the release with --with-deps)`);
  }
  // Dependencies carried in the bundle are staged beside the release, then moved into .deps whole.
  const depsTmp = `${depsDir}.staging-${artifact.id}`;
  await rm(depsTmp, { recursive: true, force: true });
  for (const f of header.files) {
    const isDep = f.path.startsWith('node_modules/');
    if (isDep && haveDeps) continue;
    const target = isDep ? path.join(depsTmp, f.path) : path.join(dir, f.path);
    await mkdir(path.dirname(target), { recursive: true });
    const carried = data.get(f.path);
    if (carried) await writeFileDurable(target, carried);
    else await fromBase(f, target, opts.baseDir);
    await chmod(target, f.mode);
  }
  if (!haveDeps) {
    await mkdir(path.dirname(depsDir), { recursive: true });
    await rename(depsTmp, depsDir);
    await fsyncDir(path.dirname(depsDir));
  }
  await symlink(path.join('..', DEPS_DIR, header.lockSha256, 'node_modules'), path.join(dir, 'node_modules'));
  const info: ReleaseInfo = { name: 'app', version: header.version, artifactId: artifact.id, lockSha256: header.lockSha256 };
  await writeFileAtomic(path.join(dir, RELEASE_FILE), `${JSON.stringify(info, null, 1)}\n`);
  for (const d of new Set(header.files.map((f) => path.dirname(path.join(dir, f.path))))) await fsyncDir(d);
  return info;
}

async function fromBase(f: AppFile, target: string, baseDir: string | null): Promise<void> {
  if (!baseDir) throw new UpdateStageError('bad-bundle', `${f.path} is to be taken from the running release, but this mirror runs none`);
  const source = path.join(baseDir, f.path);
  const digest = await sha256OfFile(source);
  if (digest !== f.sha256) {
    throw new UpdateStageError('bad-bundle', `${f.path} is to be taken from the running release, which ${digest ? 'holds a different version of it' : 'lacks it'} (make the release against this mirror's release, or without --base)`);
  }
  await linkOrCopy(source, target);
}

/**
 * The first release on a mirror (install.sh, and the tests): a release folder made from a working
 * tree without a bundle: the code hard-linked (or copied across filesystems), the dependencies
 * already installed there taken as the tree for its lockfile, `current` and the committed pointer
 * set. Later releases arrive as signed bundles through the update agent.
 */
import { copyFile, link, mkdir, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../core/fs-atomic.ts';
import { UpdateStore } from '../update/store.ts';
import { APP_NAME, DEPS_DIR, RELEASE_FILE, ReleaseLayout, type ReleaseInfo } from './layout.ts';
import { codePaths, describeFile } from './release-files.ts';

export interface InstallOptions {
  /** The working tree (a git checkout with node_modules installed). */
  root: string;
  releasesDir: string;
  stateDir: string;
  version: string;
  artifactId: string;
  /** Instead of the tree's own files: a replacement per relative path (a test's broken release). */
  replace?: Record<string, string>;
  /** Point `current` and the committed pointer at it (the first install); false: only the folder. */
  makeCurrent?: boolean;
}

export async function installFromTree(o: InstallOptions): Promise<ReleaseInfo & { dir: string }> {
  const layout = new ReleaseLayout(o.releasesDir);
  const dir = layout.releaseDir(o.artifactId);
  const tmp = `${dir}.staging`;
  await rm(tmp, { recursive: true, force: true });
  const lock = await describeFile(o.root, 'package-lock.json');
  for (const rel of await codePaths(o.root)) {
    const target = path.join(tmp, rel);
    await mkdir(path.dirname(target), { recursive: true });
    const replacement = o.replace?.[rel];
    if (replacement !== undefined) await writeFileAtomic(target, replacement);
    else await link(path.join(o.root, rel), target).catch(() => copyFile(path.join(o.root, rel), target));
  }
  const deps = layout.depsDir(lock.sha256);
  if (!(await stat(deps).then(() => true, () => false))) {
    await mkdir(deps, { recursive: true });
    await symlink(await realpath(path.join(o.root, 'node_modules')), path.join(deps, 'node_modules'));
  }
  await symlink(path.join('..', DEPS_DIR, lock.sha256, 'node_modules'), path.join(tmp, 'node_modules'));
  const info: ReleaseInfo = { name: APP_NAME, version: o.version, artifactId: o.artifactId, lockSha256: lock.sha256 };
  await writeFileAtomic(path.join(tmp, RELEASE_FILE), `${JSON.stringify(info, null, 1)}\n`);
  await rename(tmp, dir);
  await fsyncDir(o.releasesDir);
  if (o.makeCurrent !== false) {
    await layout.switchCurrent(dir);
    await new UpdateStore(o.stateDir, { releasesDir: o.releasesDir }).setCommitted(APP_NAME, { version: o.version, dir, artifactId: o.artifactId }, null);
  }
  return { ...info, dir };
}

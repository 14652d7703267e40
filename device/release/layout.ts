/**
 * Where application releases live on a mirror, and the one pointer that says which one boots:
 *
 *   <releases>/<artifactId>/          one folder per release, never written in place once renamed there
 *     release.json                    { name: "app", version, artifactId, lockSha256 }
 *     device/ fleet/ models/ ...       the code (what device/main.ts needs)
 *     node_modules -> ../.deps/<lockSha256>/node_modules
 *   <releases>/.deps/<lockSha256>/    the lockfile's dependencies, shared by releases with the same lockfile
 *   <releases>/current -> <artifactId>   what systemd (or device/release/supervisor.ts) starts
 *   <releases>/committed.json         the last committed release (the update store's pointer for "app")
 *
 * `current` is swapped atomically (a new symlink renamed over it, the directory fsynced), so a boot
 * after a power cut starts one whole release or the other. It moves at the switch (`active`) and
 * back at a rollback; committed.json moves only at the commit.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readlink, realpath, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { fsyncDir } from '../core/fs-atomic.ts';

/** The artifact name of application releases (kind "app"). */
export const APP_NAME = 'app';
export const CURRENT_LINK = 'current';
export const DEPS_DIR = '.deps';
export const RELEASE_FILE = 'release.json';

export const ReleaseInfoSchema = z.object({
  name: z.literal(APP_NAME),
  version: z.string().min(1).max(64),
  artifactId: z.string().min(1).max(64),
  /** sha256 of the release's package-lock.json: which dependency tree (`.deps/<lockSha256>`) it runs on. */
  lockSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ReleaseInfo = z.infer<typeof ReleaseInfoSchema>;

/** The release in `dir` (its release.json), or null when there is none or it does not validate. */
export async function readReleaseInfo(dir: string): Promise<ReleaseInfo | null> {
  try {
    const parsed = ReleaseInfoSchema.safeParse(JSON.parse(await readFile(path.join(dir, RELEASE_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export class ReleaseLayout {
  constructor(readonly releasesDir: string) {}

  get currentLink(): string {
    return path.join(this.releasesDir, CURRENT_LINK);
  }

  releaseDir(artifactId: string): string {
    return path.join(this.releasesDir, artifactId);
  }

  depsDir(lockSha256: string): string {
    return path.join(this.releasesDir, DEPS_DIR, lockSha256);
  }

  /** The release folder `current` names (resolved), or null when there is no such link or folder. */
  async current(): Promise<string | null> {
    try {
      await readlink(this.currentLink);
      return await realpath(this.currentLink);
    } catch {
      return null;
    }
  }

  /** Points `current` at `dir` (a folder in this layout): a new link renamed over the old one, then fsync. */
  async switchCurrent(dir: string): Promise<void> {
    const target = path.relative(this.releasesDir, path.resolve(dir));
    if (target.startsWith('..') || target.includes(path.sep)) throw new Error(`release ${dir} is not a folder of ${this.releasesDir}`);
    const tmp = path.join(this.releasesDir, `.${CURRENT_LINK}-${randomBytes(4).toString('hex')}`);
    await symlink(target, tmp);
    try {
      await rename(tmp, this.currentLink);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(this.releasesDir);
  }
}

/** True when `a` and `b` name the same folder (either may be a symlink or relative). */
export async function sameDir(a: string | null | undefined, b: string | null | undefined): Promise<boolean> {
  if (!a || !b) return false;
  const real = (p: string): Promise<string> => realpath(p).catch(() => path.resolve(p));
  return (await real(a)) === (await real(b));
}

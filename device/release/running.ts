/**
 * Which release this process runs: the release folder holding this very code (node starts the
 * main module by its real path, so `<releases>/current/device/main.ts` runs as
 * `<releases>/<artifactId>/device/main.ts`). A development checkout has no release.json: no
 * release, and application updates are refused as unsupported there.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CURRENT_LINK, readReleaseInfo, type ReleaseInfo } from './layout.ts';

/** The root of the code tree this module belongs to (two folders up from device/release/). */
export const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningRelease {
  /** The release folder (a real path). */
  dir: string;
  info: ReleaseInfo;
  /** The folder of releases it belongs to (it holds the `current` link). */
  releasesDir: string;
}

export async function runningRelease(appRoot = APP_ROOT): Promise<RunningRelease | null> {
  const info = await readReleaseInfo(appRoot);
  if (!info) return null;
  const releasesDir = path.dirname(appRoot);
  const hasLink = await access(path.join(releasesDir, CURRENT_LINK)).then(() => true, () => false);
  return hasLink ? { dir: appRoot, info, releasesDir } : null;
}

/**
 * What a release is made of, read from a working tree: the files git tracks or would track (not
 * ignored; minus the tests),
 * the built kiosk (ui/dist) when it was built, and on request the installed dependencies
 * (node_modules, symlinks skipped: npm's .bin links are not needed to run the daemon).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface TreeFile {
  path: string;
  mode: 0o644 | 0o755;
  size: number;
  sha256: string;
  /** The file on disk (read when carried). */
  abs: string;
}

/** Not part of a release: the test suites, and what the mirror writes itself. */
const EXCLUDED = /^(tests\/|release\.json$|current$|node_modules(\/|$))/;

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(root, p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Relative paths of the release's code in the working tree `root` (git's view; every file where it is not a checkout), sorted. */
export async function codePaths(root: string): Promise<string[]> {
  let tracked: string[];
  try {
    tracked = execFileSync('git', ['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString('utf8')
      .split('\0')
      .filter(Boolean);
  } catch {
    // An installed copy (/opt/smart-mirror) is no checkout: everything but git's and npm's own folders.
    tracked = [];
    await walk(root, '', tracked);
    tracked = tracked.filter((p) => !/^(\.git|node_modules)\//.test(p));
  }
  const paths = tracked.filter((p) => !EXCLUDED.test(p));
  const dist: string[] = [];
  if (await stat(path.join(root, 'ui', 'dist')).then((s) => s.isDirectory(), () => false)) await walk(root, 'ui/dist', dist);
  // git lists files deleted in the working tree too: a release holds what is there.
  const present = await Promise.all(paths.map((p) => stat(path.join(root, p)).then((s) => s.isFile(), () => false)));
  return [...new Set([...paths.filter((_, i) => present[i]), ...dist])].sort();
}

/** Relative paths (`node_modules/...`) of the installed dependencies under `root`. */
export async function depPaths(root: string): Promise<string[]> {
  const out: string[] = [];
  const real = await realpath(path.join(root, 'node_modules'));
  await walk(real, '', out);
  return out.map((p) => `node_modules/${p}`).sort();
}

export function describeText(rel: string, text: string): TreeFile {
  const data = Buffer.from(text);
  return { path: rel, mode: 0o644, size: data.byteLength, sha256: createHash('sha256').update(data).digest('hex'), abs: '' };
}

export async function describeFile(root: string, rel: string): Promise<TreeFile> {
  const abs = rel.startsWith('node_modules/') ? path.join(await realpath(path.join(root, 'node_modules')), rel.slice('node_modules/'.length)) : path.join(root, rel);
  const [data, st] = await Promise.all([readFile(abs), stat(abs)]);
  return { path: rel, mode: st.mode & 0o111 ? 0o755 : 0o644, size: data.byteLength, sha256: createHash('sha256').update(data).digest('hex'), abs };
}

/**
 * npm run bench:bundle: builds the kiosk (ui/) and the store dashboard (fleet/dashboard/) as
 * production does and prints what a browser downloads: each built file's size, raw and gzip
 * (level 9, what a static server with precompression would send), source maps left out.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { printTable } from './table.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const APPS = [
  { name: 'kiosk', config: 'ui/vite.config.ts', dist: 'ui/dist' },
  { name: 'dashboard', config: 'fleet/dashboard/vite.config.ts', dist: 'fleet/dashboard/dist' },
] as const;

export interface BuiltFile {
  app: string;
  file: string;
  bytes: number;
  gzipBytes: number;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)])));
  return nested.flat();
}

/** Every file a browser may fetch from `dist` (maps excluded), largest first. */
export async function measureDist(app: string, dist: string): Promise<BuiltFile[]> {
  const files = (await filesUnder(dist)).filter((f) => !f.endsWith('.map'));
  const rows = await Promise.all(
    files.map(async (f) => {
      const body = await readFile(f);
      return { app, file: path.relative(dist, f), bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
    }),
  );
  return rows.sort((a, b) => b.bytes - a.bytes);
}

/** Builds both apps (production mode, their own Vite configs) and measures what they emit. */
export async function buildAndMeasure(): Promise<BuiltFile[]> {
  const rows: BuiltFile[] = [];
  for (const app of APPS) {
    await build({ configFile: path.join(REPO, app.config), logLevel: 'warn', mode: 'production' });
    rows.push(...(await measureDist(app.name, path.join(REPO, app.dist))));
  }
  return rows;
}

const kb = (n: number) => (n / 1024).toFixed(1);

export function printBundles(rows: readonly BuiltFile[]): void {
  const kind = (f: string) => (/\.(js|css|html)$/.test(f) ? f.split('.').pop()! : 'asset');
  const totals = APPS.map(({ name }) => {
    const mine = rows.filter((r) => r.app === name);
    const code = mine.filter((r) => kind(r.file) !== 'asset');
    const sum = (rs: BuiltFile[], k: 'bytes' | 'gzipBytes') => rs.reduce((s, r) => s + r[k], 0);
    return [name, kb(sum(code, 'bytes')), kb(sum(code, 'gzipBytes')), kb(sum(mine, 'bytes')), kb(sum(mine, 'gzipBytes'))];
  });
  printTable('built bundles (KiB; gzip -9; source maps excluded)', ['app', 'file', 'kind', 'raw', 'gzip'], rows.map((r) => [r.app, r.file, kind(r.file), kb(r.bytes), kb(r.gzipBytes)]));
  printTable('bundle totals (KiB): code = js + css + html, all = with fonts and images', ['app', 'code raw', 'code gzip', 'all raw', 'all gzip'], totals);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  printBundles(await buildAndMeasure());
}

/**
 * The application bundle on a small git tree: packed by the packaging code operators run
 * (make-release), staged as a release folder the way the update agent stages it. A delta against
 * the running release carries only the changed files; anything that does not add up is refused
 * naming the file or the lockfile.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_BUNDLE_MAGIC, parseAppBundle } from '../../device/release/app-bundle.ts';
import { ReleaseLayout, readReleaseInfo } from '../../device/release/layout.ts';
import { packRelease } from '../../device/release/pack.ts';
import { stageRelease } from '../../device/release/stage-release.ts';
import { UpdateStageError } from '../../device/update/host.ts';
import type { Artifact } from '../../fleet/protocol/update.ts';

let root: string;
let tree: string;

const artifact = (id: string, version: string) => ({ id, kind: 'app', name: 'app', version }) as Artifact;

async function put(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(tree, rel)), { recursive: true });
  await writeFile(path.join(tree, rel), text);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mirror-app-bundle-'));
  tree = path.join(root, 'tree');
  await put('device/main.ts', 'console.log("v1")\n');
  await put('device/big.bin', 'x'.repeat(100_000));
  await put('package.json', '{"name":"m"}\n');
  await put('package-lock.json', '{"lockfileVersion":3,"packages":{}}\n');
  await put('tests/a.test.ts', 'not in a release\n');
  await put('node_modules/dep/index.js', 'module.exports = 1;\n');
  execFileSync('git', ['init', '-q', tree]);
  execFileSync('git', ['-C', tree, 'add', 'device', 'package.json', 'package-lock.json', 'tests']);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('application bundle: make-release and staging', () => {
  let layout: ReleaseLayout;
  let v1Bundle: Buffer;
  let v1Dir: string;

  beforeAll(async () => {
    layout = new ReleaseLayout(path.join(root, 'releases'));
    await mkdir(layout.releasesDir, { recursive: true });
  });

  it('a full bundle (with its dependencies) stages as a release folder: code, release.json, node_modules from the shared tree; tests left out', async () => {
    const packed = await packRelease({ root: tree, version: '1.0.0', withDeps: true });
    v1Bundle = packed.bundle;
    expect(packed.fromBase).toBe(0);
    const { header } = parseAppBundle(packed.bundle);
    expect(header.files.map((f) => f.path)).toEqual(['device/big.bin', 'device/main.ts', 'package-lock.json', 'package.json', 'node_modules/dep/index.js']);
    v1Dir = layout.releaseDir('app-1');
    await mkdir(v1Dir);
    const info = await stageRelease(artifact('app-1', '1.0.0'), packed.bundle, v1Dir, { layout, baseDir: null });
    expect(await readReleaseInfo(v1Dir)).toEqual(info);
    expect(await readFile(path.join(v1Dir, 'device/main.ts'), 'utf8')).toBe('console.log("v1")\n');
    expect(await readFile(path.join(v1Dir, 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(await readFile(path.join(layout.depsDir(info.lockSha256), 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
  });

  it('a delta against the running release carries only the changed file; the rest is hard-linked from the running release', async () => {
    await put('device/main.ts', 'console.log("v2")\n');
    const packed = await packRelease({ root: tree, version: '2.0.0', base: v1Bundle });
    expect({ carried: packed.carried, fromBase: packed.fromBase }).toEqual({ carried: 1, fromBase: 3 });
    expect(packed.bundle.byteLength).toBeLessThan(5000);
    const dir = layout.releaseDir('app-2');
    await mkdir(dir);
    await stageRelease(artifact('app-2', '2.0.0'), packed.bundle, dir, { layout, baseDir: v1Dir });
    expect(await readFile(path.join(dir, 'device/main.ts'), 'utf8')).toBe('console.log("v2")\n');
    expect((await stat(path.join(dir, 'device/big.bin'))).ino).toBe((await stat(path.join(v1Dir, 'device/big.bin'))).ino);
    expect(await readFile(path.join(dir, 'node_modules/dep/index.js'), 'utf8')).toBe('module.exports = 1;\n');
    // The running release was not touched.
    expect(await readFile(path.join(v1Dir, 'device/main.ts'), 'utf8')).toBe('console.log("v1")\n');
  });

  it('a delta made against another release than the one running: refused, naming the file', async () => {
    await put('device/big.bin', 'y'.repeat(100_000));
    const other = await packRelease({ root: tree, version: '0.9.0' });
    await put('device/big.bin', 'x'.repeat(100_000));
    const packed = await packRelease({ root: tree, version: '3.0.0', base: other.bundle });
    const dir = layout.releaseDir('app-3');
    await mkdir(dir);
    const err = await stageRelease(artifact('app-3', '3.0.0'), packed.bundle, dir, { layout, baseDir: v1Dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateStageError);
    expect((err as UpdateStageError).reason).toBe('bad-bundle');
    expect((err as Error).message).toMatch(/device\/(main\.ts|package)|device\/big\.bin/);
  });

  it('dependencies neither on the mirror nor in the bundle: refused, naming the lockfile', async () => {
    await put('package-lock.json', '{"lockfileVersion":3,"packages":{"new":{}}}\n');
    const packed = await packRelease({ root: tree, version: '4.0.0', base: v1Bundle });
    await put('package-lock.json', '{"lockfileVersion":3,"packages":{}}\n');
    const dir = layout.releaseDir('app-4');
    await mkdir(dir);
    await expect(stageRelease(artifact('app-4', '4.0.0'), packed.bundle, dir, { layout, baseDir: v1Dir })).rejects.toThrow(/dependencies of lockfile [0-9a-f]{12} are not on this mirror/);
  });

  it('a bundle whose version differs from the signed artifact: refused', async () => {
    const dir = layout.releaseDir('app-5');
    await mkdir(dir);
    await expect(stageRelease(artifact('app-5', '5.0.0'), v1Bundle, dir, { layout, baseDir: null })).rejects.toThrow(/version "1.0.0", artifact says "5.0.0"/);
  });

  it('tampered bytes, a path that climbs out, a bad magic: each refused naming the problem', () => {
    const tampered = Buffer.from(v1Bundle);
    tampered[tampered.byteLength - 3] ^= 0xff;
    expect(() => parseAppBundle(tampered)).toThrow(/node_modules\/dep\/index\.js does not match its sha256/);
    const headerLen = v1Bundle.readUInt32BE(8);
    const header = JSON.parse(v1Bundle.subarray(12, 12 + headerLen).toString()) as { files: Array<{ path: string }> };
    header.files[0]!.path = '../../etc/passwd';
    const hb = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(hb.byteLength);
    expect(() => parseAppBundle(Buffer.concat([APP_BUNDLE_MAGIC, len, hb, v1Bundle.subarray(12 + headerLen)]))).toThrow(/header field files\.0\.path must be a relative path/);
    expect(() => parseAppBundle(Buffer.from('MIRRORB1\0\0\0\0'))).toThrow(/bad magic/);
  });
});

/**
 * The operator's path for an application release, as the README gives it: make-release packs the
 * working tree (a delta against the bundle the mirrors run), `fleet sign --kind app` signs it, and
 * `fleet push` uploads it to a real fleet service and starts a rollout like any artifact.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { parseAppBundle } from '../../device/release/app-bundle.ts';
import { statusTopic } from '../../fleet/protocol/topics.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { startFleet, type TestService } from '../fleet/support.ts';

describe('operator: make-release, fleet sign --kind app, fleet push', () => {
  let dir: string;
  let tree: string;
  let svc: TestService;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env: { FLEET_URL: svc?.url ?? '', FLEET_TOKEN: svc?.token ?? '', INIT_CWD: dir }, sleep: async () => undefined });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const makeRelease = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'tools', 'make-release.ts'), '--root', tree, ...args], { cwd: repoRoot, encoding: 'utf8' });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-app-cli-'));
    tree = path.join(dir, 'tree');
    await mkdir(path.join(tree, 'device'), { recursive: true });
    await writeFile(path.join(tree, 'device', 'main.ts'), 'console.log(1)\n');
    await writeFile(path.join(tree, 'package-lock.json'), '{"lockfileVersion":3}\n');
    execFileSync('git', ['init', '-q', tree]);
    const keys: string[] = [];
    await runCli(['keys', 'generate', '--out', dir, '--key-id', 'rel1', '--json'], { out: (s) => keys.push(s), err: () => undefined, env: {} });
    svc = await startFleet('sqlite', { trustedKeys: { rel1: JSON.parse(keys.join('')).publicKeyRaw } }, { mqtt: false });
    const addr = { storeId: 'lyon-01', deviceId: 'm1' };
    await svc.ingest.handle(statusTopic(addr), Buffer.from(JSON.stringify({ v: 1, state: 'offline', deviceId: 'm1', storeId: 'lyon-01', connectionSeq: 1, ts: Date.now(), firmwareVersion: '1', models: { app: '1.0.0' } })));
  });

  afterAll(async () => {
    await svc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('packs a delta release, signs it as kind app and pushes it as a rollout', async () => {
    const v1 = makeRelease('--version', '1.0.0', '--out', path.join(dir, 'app-1.0.0.bundle'));
    expect(v1.status, v1.stderr).toBe(0);
    await writeFile(path.join(tree, 'device', 'main.ts'), 'console.log(2)\n');
    await writeFile(path.join(tree, 'device', 'new.ts'), 'export {};\n');
    const v2 = makeRelease('--version', '1.1.0', '--base', path.join(dir, 'app-1.0.0.bundle'), '--out', path.join(dir, 'app-1.1.0.bundle'));
    expect(v2.status, v2.stderr).toBe(0);
    expect(v2.stdout).toMatch(/app 1\.1\.0, 3 files \(2 carried, [\d.]+ MB; 1 from the base\)/);
    expect(v2.stdout).toContain('app-1.1.0.bundle --kind app --name app --version 1.1.0 --key KEY.pem --key-id ID');
    const { header } = parseAppBundle(await readFile(path.join(dir, 'app-1.1.0.bundle')));
    expect(header).toMatchObject({ version: '1.1.0', deps: 'reuse', base: '1.0.0' });

    const sign = await cli('sign', 'app-1.1.0.bundle', '--kind', 'app', '--name', 'app', '--version', '1.1.0', '--key', 'rel1.key.pem', '--key-id', 'rel1');
    expect(sign.code, sign.err).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'app-1.1.0.manifest.json'), 'utf8'))).toMatchObject({ kind: 'app', name: 'app', version: '1.1.0', keyId: 'rel1' });
    const push = await cli('push', 'app-1.1.0.bundle', '--to', 'store=lyon-01', '--json');
    expect(push.code, push.err).toBe(0);
    expect(JSON.parse(push.out).rollout).toMatchObject({ targets: 1 });
    expect((await cli('status', JSON.parse(push.out).rollout.id)).out).toMatch(/app/);
  });

  it('make-release without --version: exit 2 naming the flag', () => {
    const r = makeRelease();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--version is required/);
  });
});

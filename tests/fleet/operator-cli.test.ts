/**
 * The operator CLI against a running fleet service: keys, signing, upload + push, status tables,
 * pause/resume/abort, users; and a tampered artifact refused with the reason shown.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { statusTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, type TestService } from './support.ts';
import { repoRoot } from '../helpers/daemon.ts';

describe('operator CLI', () => {
  let svc: TestService;
  let dir: string;
  let pub: string;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token, INIT_CWD: dir }, sleep: async () => undefined });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-cli-'));
    // The service trusts a key the CLI generates first.
    const out: string[] = [];
    await runCli(['keys', 'generate', '--out', dir, '--key-id', 'rel1', '--json'], { out: (s) => out.push(s), err: () => undefined, env: {} });
    pub = JSON.parse(out.join('')).publicKeyRaw;
    svc = await startFleet('sqlite', { trustedKeys: { rel1: pub } }, { mqtt: false });
    for (let i = 0; i < 4; i++) {
      const addr = { storeId: 'paris-01', deviceId: `m${i}` };
      // Offline devices: their jobs queue until birth, so no broker is needed here.
      await svc.ingest.handle(statusTopic(addr), Buffer.from(JSON.stringify({ v: 1, state: 'offline', deviceId: addr.deviceId, storeId: 'paris-01', connectionSeq: 1, ts: Date.now(), firmwareVersion: '1', models: { 'face-mesh': '1.0.0' } })));
    }
  });
  afterAll(async () => {
    await svc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs, pushes and controls a rollout, printing aligned tables', async () => {
    await writeFile(path.join(dir, 'mesh.bin'), randomBytes(50_000));
    const sign = await cli('sign', 'mesh.bin', '--key', 'rel1.key.pem', '--key-id', 'rel1', '--name', 'face-mesh', '--version', '1.5.0');
    expect(sign.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'mesh.manifest.json'), 'utf8'))).toMatchObject({ id: 'face-mesh-1-5-0', keyId: 'rel1', size: 50_000 });

    const push = await cli('push', 'mesh.bin', '--to', 'store=paris-01', '--canary', '25%', '--json');
    expect(push.code, push.err).toBe(0);
    const id = JSON.parse(push.out).rollout.id;
    expect(JSON.parse(push.out).rollout).toMatchObject({ targets: 4, waves: 3 });

    const status = await cli('status', id);
    expect(status.code).toBe(0);
    const lines = status.out.split('\n');
    expect(lines[0]).toBe(`rollout ${id}  RUNNING (waiting for 4 offline devices)`);
    const header = lines.find((l) => l.startsWith('wave'))!;
    const rule = lines[lines.indexOf(header) + 1];
    expect(rule).toMatch(/^-+( +-+)+$/);
    // Columns line up: every "  " gap in the rule is a gap in the header.
    expect(header.indexOf('size')).toBe(rule.indexOf('-', rule.indexOf(' ')));
    expect(status.out).toMatch(/0 \(canary\)/);

    expect((await cli('pause', id)).out).toBe(`rollout ${id}: paused (paused by operator)`);
    expect((await cli('resume', id)).out).toMatch(new RegExp(`^rollout ${id}: running`));
    expect((await cli('abort', id)).out).toMatch(/: aborted/);
    const watch = await cli('status', id, '--watch');
    expect(watch.code).toBe(0);
    expect(watch.out).toMatch(/ABORTED/);

    const list = await cli('status');
    expect(list.out).toContain(id);
    const audit = await cli('audit');
    for (const action of ['artifact.upload', 'rollout.push', 'rollout.pause', 'rollout.resume', 'rollout.abort']) expect(audit.out).toContain(action);
  });

  it('a tampered artifact is refused and the reason is shown', async () => {
    await writeFile(path.join(dir, 'cat.bin'), randomBytes(3000));
    expect((await cli('sign', 'cat.bin', '--key', 'rel1.key.pem', '--key-id', 'rel1', '--name', 'catalog', '--kind', 'catalog', '--version', '7')).code).toBe(0);
    await writeFile(path.join(dir, 'cat.bin'), randomBytes(3000));
    const push = await cli('push', 'cat.bin', '--to', 'all');
    expect(push.code).toBe(1);
    expect(push.err).toMatch(/422 FLEET_ERR_ARTIFACT_REJECTED sha256: content hashes to/);
  });

  it('lists devices and adds users; bad arguments exit 2 with usage', async () => {
    const devices = await cli('devices');
    expect(devices.out.split('\n')[0]).toMatch(/^store +device +state +health/);
    expect(devices.out).toContain('4 device(s)');
    expect((await cli('users', 'add', 'claire', '--role', 'manager', '--store', 'paris-01', '--password', 'manager-pass-1')).out).toBe('user claire added (manager, store paris-01)');
    expect((await cli('push', 'mesh.bin')).code).toBe(2);
    expect((await cli('push', 'mesh.bin', '--to', 'shop=1')).code).toBe(2);
    const noToken = await runCli(['devices'], { out: () => undefined, err: (s) => expect(s).toMatch(/401/), env: { FLEET_URL: svc.url } });
    expect(noToken).toBe(1);
  });

  it("the README's key commands work as written: `keys generate` writes the file `sign --key` names", async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const gen = /npx fleet keys generate --out (\S+) --key-id (\S+)/.exec(readme);
    const sign = /npx fleet sign \S+ --key (\S+) --key-id (\S+)/.exec(readme);
    expect(gen && sign, 'README shows keys generate and sign').toBeTruthy();
    const code = await runCli(['keys', 'generate', '--out', gen![1], '--key-id', gen![2]], { out: () => undefined, err: () => undefined, env: { INIT_CWD: dir } });
    expect(code).toBe(0);
    expect(sign![2]).toBe(gen![2]);
    expect(existsSync(path.join(dir, sign![1])), `${sign![1]} written by keys generate`).toBe(true);
  });

  it('an answer that is not the fleet service\'s (a proxy page, an old service) fails naming the field', async () => {
    const proxy = createServer((_req, res) => res.end(JSON.stringify({ devices: [{ storeId: 'paris-01' }] })));
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    const err: string[] = [];
    const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const code = await runCli(['devices', '--url', url], { out: () => undefined, err: (s) => err.push(s), env: {} });
    proxy.close();
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/unexpected answer from the fleet service: devices\.0\.deviceId/);
  });
});

/**
 * mirrorctl against the real daemon (child process, demo clip) over its control socket, with a
 * real socket.io client as the kiosk: status, debug capture only with the kiosk's consent, and
 * config reload that keeps the kiosk's connection and the shopper's session.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ConfirmRequest, ServerToClientEvents } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { mirrorctl as run, until } from './support.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mirrorctl-'));
const stateDir = path.join(dir, 'state');
const configFile = path.join(dir, 'mirror.json');
const socketFile = path.join(stateDir, 'control.sock');
const debugDir = path.join(stateDir, 'debug');
const baseConfig = { mqtt: { embeddedPort: 0 } };

const mirrorctl = (...args: string[]) => run(socketFile, ...args);

const debugFiles = (): string[] => {
  try {
    return readdirSync(debugDir);
  } catch {
    return [];
  }
};

describe('mirrorctl (real daemon, control socket)', () => {
  let daemon: RunningDaemon;
  let kiosk: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  const sizes: number[] = [];
  let disconnects = 0;
  let policy: 'allow' | 'deny' | 'ignore' = 'deny';
  const prompts: ConfirmRequest[] = [];

  const health = async (): Promise<Record<string, any>> => (await fetch(`${daemon.url}/healthz`)).json() as Promise<Record<string, any>>;

  beforeAll(async () => {
    writeFileSync(configFile, JSON.stringify(baseConfig));
    daemon = await startDaemon({ env: { MIRROR_CONFIG: configFile, MIRROR_STATE_DIR: stateDir }, timeoutMs: 150_000 });
    await until(() => daemon.logs.some((l) => l.msg === 'control socket listening'));
  }, 180_000);

  afterAll(async () => {
    kiosk?.close();
    await daemon?.stop();
  });

  it('status prints a summary of the running daemon; the socket is owner-only (0600)', async () => {
    expect(statSync(socketFile).mode & 0o777).toBe(0o600);
    const { code, stdout } = await mirrorctl('status');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^state\s+(ok|starting) \(up \d+ s, firmware 0\.1\.0\)/m);
    expect(stdout).toMatch(/^mqtt\s+connected to mqtt:\/\/127\.0\.0\.1:\d+ \(embedded broker\)/m);
    expect(stdout).toMatch(/^models\s+.*face-mesh/m);
    expect(stdout).toMatch(/^outbox\s+pending \d+/m);
    const json = await mirrorctl('status', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ firmwareVersion: '0.1.0', models: (await health()).models });
  });

  it('capture with no kiosk screen connected writes nothing', async () => {
    const { code, stderr } = await mirrorctl('capture');
    expect(code).toBe(1);
    expect(stderr).toContain('no kiosk screen is connected');
    expect(debugFiles()).toEqual([]);
  });

  it('capture denied on the mirror writes nothing', async () => {
    kiosk = io(daemon.url, { transports: ['websocket'] });
    kiosk.on('frame', (frame, received) => {
      received();
      sizes.push(frame.image.byteLength);
    });
    kiosk.on('disconnect', () => disconnects++);
    kiosk.on('confirm', (request, answer) => {
      prompts.push(request);
      if (policy !== 'ignore') answer({ id: request.id, allow: policy === 'allow' });
    });
    await until(() => sizes.length > 3, 60_000);
    policy = 'deny';
    const { code, stderr } = await mirrorctl('capture');
    expect(code).toBe(1);
    expect(stderr).toContain('denied on the mirror');
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatchObject({ kind: 'debug-capture', timeoutMs: 30_000 });
    expect(debugFiles()).toEqual([]);
  });

  it('capture allowed on the mirror writes exactly one JPEG, mode 0600, and logs it', async () => {
    policy = 'allow';
    const { code, stdout } = await mirrorctl('capture');
    expect(code).toBe(0);
    const files = debugFiles();
    expect(files).toHaveLength(1);
    const file = path.join(debugDir, files[0]);
    expect(stdout).toContain(`captured: ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect([...readFileSync(file).subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(daemon.logs.filter((l) => l.msg === 'debug capture requested: asking for confirmation on the mirror')).toHaveLength(3);
    expect(daemon.logs.some((l) => l.msg === 'debug capture written' && l.file === file)).toBe(true);
  });

  it('reload applies logLevel, idle timeout and JPEG quality in place, without dropping the kiosk or the session', async () => {
    const before = await health();
    expect(before.sessions.active).toBe(true);
    const sizesBefore = sizes.slice(-10);
    writeFileSync(configFile, JSON.stringify({ ...baseConfig, logLevel: 'warn', session: { idleTimeoutMs: 20_000 }, encode: { quality: 30 }, capture: { fps: 20 } }));
    const { code, stdout } = await mirrorctl('reload');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^applied: .*logLevel/m);
    expect(stdout).toMatch(/^applied: .*session\.idleTimeoutMs/m);
    expect(stdout).toMatch(/^applied: .*encode\.quality/m);
    expect(stdout).toMatch(/^need a restart .*: capture\.fps$/m);
    // The same connection keeps receiving frames, now encoded at quality 30.
    const mark = sizes.length;
    await until(() => sizes.length >= mark + 12, 60_000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(sizes.slice(-10))).toBeLessThan(mean(sizesBefore) * 0.8);
    expect(disconnects).toBe(0);
    const after = await health();
    expect(after.sessions).toMatchObject({ active: true, sessions: before.sessions.sessions });
    // logLevel warn: this request's info line is no longer printed.
    const infoLines = daemon.logs.filter((l) => l.msg === 'control request').length;
    await mirrorctl('status');
    expect(daemon.logs.filter((l) => l.msg === 'control request').length).toBe(infoLines);
  }, 90_000);

  it('a bad config is refused naming the key, and nothing changes', async () => {
    writeFileSync(configFile, JSON.stringify({ ...baseConfig, logLevel: 'info', session: { idleTimeoutMs: 'soon' } }));
    const bad = await mirrorctl('reload');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('config key "session.idleTimeoutMs"');
    // Back to the running config: nothing to apply, so the refused file changed nothing.
    writeFileSync(configFile, JSON.stringify({ ...baseConfig, logLevel: 'warn', session: { idleTimeoutMs: 20_000 }, encode: { quality: 30 }, capture: { fps: 20 } }));
    const same = await mirrorctl('reload');
    expect(same.stdout).toMatch(/^applied: nothing changed$/m);
    expect(disconnects).toBe(0);
  });

  it('SIGHUP (systemctl reload) reloads the same way', async () => {
    writeFileSync(configFile, JSON.stringify({ ...baseConfig, logLevel: 'info', session: { idleTimeoutMs: 20_000 }, encode: { quality: 30 }, capture: { fps: 20 } }));
    daemon.child.kill('SIGHUP');
    await until(() => daemon.logs.some((l) => l.msg === 'config reloaded' && JSON.stringify(l.applied) === '["logLevel"]'));
    expect(daemon.child.exitCode).toBe(null);
  });

  it('a stop while a capture waits for consent exits cleanly (the control socket does not hold it)', async () => {
    policy = 'ignore';
    const asked = prompts.length;
    const pending = mirrorctl('capture');
    await until(() => prompts.length > asked, 60_000);
    const stopped = await daemon.stop();
    expect(stopped.code).toBe(0);
    const result = await pending;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('closed the connection without an answer');
    expect(debugFiles()).toHaveLength(1);
  }, 90_000);
});

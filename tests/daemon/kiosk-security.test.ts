/**
 * The kiosk server is the live camera: only the kiosk's own origin may read it. Attacks from a
 * browser on the mirror (a page from another origin, a DNS-rebinding page), malformed paths, and
 * secrets echoed by /healthz, all against the real daemon.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { collectFrames } from '../helpers/frames.ts';
import { freePort } from '../../fleet/sim/broker.ts';

const PASSWORD = 'hunter2-s3cret';
const DEV_ORIGIN = 'http://127.0.0.1:5173';

/** A raw HTTP GET with exactly these headers (fetch would not let a test forge Host). */
function rawGet(port: number, pathname: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, headers, setHost: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Connects like a browser page of `origin` would; resolves once refused, or once a frame arrived. */
function connectAs(url: string, extraHeaders: Record<string, string>): Promise<{ connected: boolean; frames: number; error?: string }> {
  const socket = io(url, { transports: ['polling', 'websocket'], extraHeaders, reconnection: false, timeout: 5000 });
  let connected = false;
  return new Promise((resolve) => {
    const end = (result: { connected: boolean; frames: number; error?: string }) => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    // A loaded machine may take a while to send the first frame; a refusal comes at once.
    const timer = setTimeout(() => end({ connected, frames: 0 }), 15_000);
    socket.on('connect_error', (err) => end({ connected: false, frames: 0, error: err.message }));
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('frame', (_frame, received) => {
      received();
      end({ connected: true, frames: 1 });
    });
  });
}

describe('kiosk server: origin, host, paths and secrets', () => {
  let daemon: RunningDaemon;
  let config: string;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-config-'));
    config = path.join(dir, 'mirror.json');
    // A broker URL with credentials (nothing listens there: the mirror keeps running without it).
    const url = `mqtt://mirror:${PASSWORD}@127.0.0.1:${await freePort()}`;
    writeFileSync(config, JSON.stringify({ mqtt: { url, password: PASSWORD }, kiosk: { allowedOrigins: [DEV_ORIGIN] } }));
    daemon = await startDaemon({ env: { MIRROR_CONFIG: config } });
  }, 90_000);
  afterAll(async () => {
    await daemon?.stop();
  });

  it('a page from another origin gets no frame: the handshake is refused', async () => {
    const evil = await connectAs(daemon.url, { origin: 'http://evil.example' });
    expect(evil).toMatchObject({ connected: false, frames: 0 });
    // A sandboxed iframe or file:// page sends "null".
    expect(await connectAs(daemon.url, { origin: 'null' })).toMatchObject({ connected: false, frames: 0 });
  });

  it('the kiosk\'s own origin and the configured dev origin do get frames', async () => {
    const own = await connectAs(daemon.url, { origin: `http://localhost:${daemon.port}` });
    expect(own.connected).toBe(true);
    expect(own.frames).toBeGreaterThan(0);
    expect(await connectAs(daemon.url, { origin: DEV_ORIGIN })).toMatchObject({ connected: true });
  });

  it('a DNS-rebinding page (Host: evil.example) is refused on socket.io and on HTTP', async () => {
    const host = `evil.example:${daemon.port}`;
    const handshake = await rawGet(daemon.port, '/socket.io/?EIO=4&transport=polling', { host });
    expect(handshake.status).toBe(403);
    const own = await rawGet(daemon.port, '/socket.io/?EIO=4&transport=polling', { host: `127.0.0.1:${daemon.port}` });
    expect(own.status).toBe(200);
    expect((await rawGet(daemon.port, '/healthz', { host })).status).toBe(403);
    expect((await rawGet(daemon.port, '/', { host })).status).toBe(403);
    expect((await rawGet(daemon.port, '/healthz', { host: `localhost:${daemon.port}` })).status).toBe(200);
  });

  it('a cross-origin fetch of /healthz from a browser page is refused', async () => {
    const res = await rawGet(daemon.port, '/healthz', { host: `127.0.0.1:${daemon.port}`, origin: 'http://evil.example' });
    expect(res.status).toBe(403);
  });

  it('bad percent-encoding in a path answers 400, not 500', async () => {
    const host = `127.0.0.1:${daemon.port}`;
    for (const p of ['/%E0%A4%A', '/%', '/assets/%ZZ.js']) {
      const res = await rawGet(daemon.port, p, { host });
      expect(res.status, p).toBe(400);
    }
    // The daemon is still serving.
    expect((await rawGet(daemon.port, '/healthz', { host })).status).toBe(200);
  });

  it('path traversal out of the UI folder is refused, encoded or not', async () => {
    const host = `127.0.0.1:${daemon.port}`;
    // Encoded slashes survive URL normalisation and only become ".." after decoding.
    for (const p of ['/..%2F..%2Fpackage.json', '/..%2f..%2fdevice%2fmain.ts', '/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const res = await rawGet(daemon.port, p, { host });
      expect(res.status, p).toBe(403);
      expect(res.body).not.toContain('smart-mirror');
    }
  });

  it('/healthz, the logs and --check-config never show the MQTT password', async () => {
    const res = await rawGet(daemon.port, '/healthz', { host: `127.0.0.1:${daemon.port}` });
    expect(res.status).toBe(200);
    const health = JSON.parse(res.body);
    expect(health.mqtt.url).toMatch(/^mqtt:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+/);
    expect(res.body).not.toContain(PASSWORD);
    await collectFrames(daemon.url, 3);
    expect(JSON.stringify(daemon.logs)).not.toContain(PASSWORD);
    expect(daemon.stderr()).not.toContain(PASSWORD);
  });

  it('--check-config prints the config without the password or URL credentials', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'main.ts'), '--check-config', '--config', config], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('config OK');
    expect(run.stdout).not.toContain(PASSWORD);
    const printed = JSON.parse(run.stdout.slice(0, run.stdout.lastIndexOf('}') + 1));
    expect(printed.mqtt.password).toBe('***');
    expect(printed.mqtt.url).toMatch(/^mqtt:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+/);
  });
});

/**
 * Debug capture consent through the real kiosk socket.io server (device/transport) and the capture
 * module the daemon runs, with a short confirmation timeout: no answer, a forged answer, or an
 * answer after the wait writes nothing; one "Allow" writes one file and closes the other screens.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebugCapture, FrameTap } from '../../device/control/capture.ts';
import { startKioskServer, type KioskServer } from '../../device/transport/kiosk-server.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../device/transport/events.ts';

type Kiosk = Socket<ServerToClientEvents, ClientToServerEvents>;
const logger = { info: () => {}, warn: () => {}, error: () => {} };

describe('debug capture consent (kiosk server + capture module)', () => {
  let server: KioskServer;
  const sockets: Kiosk[] = [];
  const frames = new FrameTap();
  // The pipeline's emit keeps offering frames, as in the daemon.
  const feeder = setInterval(() => frames.offer(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])), 20);

  beforeAll(async () => {
    server = await startKioskServer({ host: '127.0.0.1', port: 0, uiDir: os.tmpdir(), allowedOrigins: [], welcome: { idleTimeoutMs: 60_000 }, health: () => ({}), onPainted: () => {}, logger });
  });
  afterAll(async () => {
    clearInterval(feeder);
    for (const s of sockets) s.close();
    await server.close();
  });

  const connectKiosk = async (): Promise<Kiosk> => {
    const socket: Kiosk = io(`http://127.0.0.1:${server.port}`, { transports: ['websocket'] });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return socket;
  };
  const captureInto = (dir: string) => createDebugCapture({ dir, confirm: (p) => server.confirm(p), frames, logger, timeoutMs: 400 });
  const files = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };

  it('no answer within the timeout: nothing written', async () => {
    const kiosk = await connectKiosk();
    let asked = 0;
    kiosk.on('confirm', () => asked++);
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'consent-')), 'debug');
    expect(await captureInto(dir)()).toEqual({ ok: false, error: 'not confirmed on the mirror in time' });
    expect(asked).toBe(1);
    expect(files(dir)).toEqual([]);
    kiosk.off('confirm');
  });

  it('an "allow" for another request id, or a malformed answer, is not consent', async () => {
    const kiosk = sockets[0];
    kiosk.on('confirm', (request, answer) => (answer as (a: unknown) => void)({ id: `${request.id}-forged`, allow: true }));
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'consent-')), 'debug');
    expect((await captureInto(dir)()).ok).toBe(false);
    kiosk.off('confirm');
    kiosk.on('confirm', (_request, answer) => (answer as (a: unknown) => void)({ allow: 'yes' }));
    expect((await captureInto(dir)()).ok).toBe(false);
    expect(files(dir)).toEqual([]);
    kiosk.off('confirm');
  });

  it('one screen allows: exactly one file, and the other screen is told to close its dialog', async () => {
    const [silent] = sockets;
    const closed: string[] = [];
    silent.on('confirmClosed', (msg) => closed.push(msg.id));
    const tapper = await connectKiosk();
    let id = '';
    tapper.on('confirm', (request, answer) => {
      id = request.id;
      answer({ id: request.id, allow: true });
    });
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'consent-')), 'debug');
    const result = await captureInto(dir)();
    expect(result.ok).toBe(true);
    expect(files(dir)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toContain(id);
  });
});

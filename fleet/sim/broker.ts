/**
 * A real Mosquitto broker for a simulation, bench or test: a child process on a free 127.0.0.1
 * port with its own generated config in a temp dir (anonymous, no persistence). Never the system
 * broker on 1883.
 * Falls back to the embedded aedes broker only where no `mosquitto` binary exists (and says so).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';

export interface TestBroker {
  url: string;
  port: number;
  kind: 'mosquitto' | 'aedes';
  /** Stops the broker (SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartMosquittoOptions {
  /** A specific port (e.g. to bring a broker up where an agent is already trying to connect). */
  port?: number;
  /** How long to wait for the listener; default 10 s. */
  readyTimeoutMs?: number;
}

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto', '/usr/bin/mosquitto'];

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findMosquitto(): string | undefined {
  const fromEnv = process.env.MOSQUITTO_BIN;
  if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
  for (const p of CANDIDATES) if (isExecutable(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'mosquitto'))) return path.join(dir, 'mosquitto');
  }
  return undefined;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function startOnce(bin: string, port: number, readyTimeoutMs: number): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 3000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 3000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await canConnect(port)) return { url: `mqtt://127.0.0.1:${port}`, port, kind: 'mosquitto', stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  const err = new Error(
    exited
      ? `mosquitto exited before listening on ${port}: ${stderr.trim()}`
      : `mosquitto did not listen on ${port} within ${readyTimeoutMs} ms: ${stderr.trim()}`,
  );
  (err as Error & { addrInUse?: boolean }).addrInUse = /in use/i.test(stderr);
  throw err;
}

export async function startMosquitto(options: StartMosquittoOptions = {}): Promise<TestBroker> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const bin = findMosquitto();
  if (bin === undefined) {
    console.warn('[tests] mosquitto binary not found: falling back to the embedded aedes broker');
    return startOpenAedes(options.port ?? 0);
  }
  // A port picked as free can be taken before mosquitto binds it: try a few.
  for (let tries = 0; ; tries++) {
    const port = options.port ?? (await freePort());
    try {
      const broker = await startOnce(bin, port, readyTimeoutMs);
      let stopped: Promise<void> | undefined;
      return { ...broker, stop: () => (stopped ??= broker.stop()) };
    } catch (err) {
      if (options.port === undefined && (err as { addrInUse?: boolean }).addrInUse && tries < 3) continue;
      throw err;
    }
  }
}

/**
 * The fallback where Mosquitto is missing: a plain, anonymous aedes like the generated Mosquitto
 * config (the daemon's embedded broker requires credentials, which these suites do not use).
 */
async function startOpenAedes(port: number): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve));
  const bound = (server.address() as net.AddressInfo).port;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      broker.close(() => server.close(() => resolve()));
    }));
  return { url: `mqtt://127.0.0.1:${bound}`, port: bound, kind: 'aedes', stop };
}

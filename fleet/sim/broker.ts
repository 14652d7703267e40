/**
 * A real Mosquitto broker for a simulation, bench or test: a child process on a free 127.0.0.1
 * port with its own generated config in a temp dir (anonymous, no persistence). Never the system
 * broker on 1883.
 * Falls back to the embedded aedes broker only where no `mosquitto` binary exists (and says so).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  /**
   * Mosquitto only: stops the process (SIGTERM: it saves its persistence file) and starts it again
   * on the same port and config, after `downMs`. What a broker restart in a store looks like.
   */
  restart?(downMs?: number): Promise<void>;
}

export interface StartMosquittoOptions {
  /** A specific port (e.g. to bring a broker up where an agent is already trying to connect). */
  port?: number;
  /** How long to wait for the listener; default 10 s. */
  readyTimeoutMs?: number;
  /**
   * Scale settings: keep sessions and queued QoS 1 messages across a restart (persistence in the
   * temp dir), no connection limit, and an unbounded queue per client (Mosquitto's default of
   * 1,000 queued messages drops QoS 1 messages to a slow subscriber). Default off: the tests'
   * brokers stay as plain as before.
   */
  scale?: boolean;
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

async function startOnce(bin: string, port: number, readyTimeoutMs: number, scale: boolean): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      ...(scale
        ? ['persistence true', `persistence_location ${dir}/`, 'autosave_interval 5', 'max_connections -1', 'max_queued_messages 0', 'max_queued_bytes 0']
        : ['persistence false']),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  // Started as root, Mosquitto drops to its own user, which must be able to write the persistence file.
  if (scale) await chmod(dir, 0o777);
  let stderr = '';
  let exited = false;
  let child!: ChildProcess;
  const launch = () => {
    exited = false;
    child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.once('exit', () => {
      exited = true;
    });
  };
  /** SIGTERM, then SIGKILL after `graceMs`: a broker with a large queue needs time to save it. */
  const kill = async (graceMs = 10_000): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, graceMs))) {
      child.kill('SIGKILL');
      await waitForExit(child, 3000);
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };
  const ready = async (timeoutMs = readyTimeoutMs): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) return false;
      if (await canConnect(port)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  const restart = async (downMs = 0): Promise<void> => {
    const t0 = Date.now();
    await kill(120_000);
    await new Promise((r) => setTimeout(r, Math.max(0, downMs - (Date.now() - t0))));
    launch();
    // Loading the persistence file (every queued message) takes a while on a loaded machine.
    if (!(await ready(Math.max(readyTimeoutMs, 120_000)))) throw new Error(`mosquitto did not come back on ${port}: ${stderr.trim()}`);
  };
  launch();
  if (await ready()) return { url: `mqtt://127.0.0.1:${port}`, port, kind: 'mosquitto', stop, restart };
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
      const broker = await startOnce(bin, port, readyTimeoutMs, options.scale ?? false);
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

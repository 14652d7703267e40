/**
 * Runs the broker process (./child.ts) and restarts it, with backoff, when it dies: a broker that
 * crashes costs the mirror a reconnect, never the daemon.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Backoff } from '../../core/backoff.ts';
import { errorFields, type TelemetryLogger } from '../logger.ts';
import { ChildMessageSchema, type StartMessage } from './ipc.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.ts');
/** The child is TypeScript: load it with tsx, resolved from here so any cwd works. */
const TSX_LOADER = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
/** A child that stayed up this long resets the restart backoff. */
const STABLE_MS = 10_000;

export class BrokerStartError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface BrokerProcess {
  readonly port: number;
  readonly running: boolean;
  readonly restarts: number;
  /** The broker process's pid while it runs. */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** Starts one child; resolves with its port once it listens, rejects if it fails to. */
function spawnChild(start: StartMessage, maxHeapMb: number, log: TelemetryLogger | undefined): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(CHILD, [], {
    execArgv: ['--import', TSX_LOADER, `--max-old-space-size=${maxHeapMb}`],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null): void => reject(new BrokerStartError(`broker process exited (${signal ?? code}) before listening`, undefined));
    child.once('exit', onExit);
    child.on('error', (err) => log?.error(errorFields(err), 'embedded MQTT broker process error'));
    child.on('message', (raw: unknown) => {
      const m = ChildMessageSchema.safeParse(raw);
      if (!m.success) return;
      if (m.data.type === 'log') log?.[m.data.level](m.data.obj, m.data.msg);
      else if (m.data.type === 'failed') reject(new BrokerStartError(m.data.message, m.data.code));
      else {
        child.off('exit', onExit);
        resolve({ child, port: m.data.port });
      }
    });
    child.send(start);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts the broker process and keeps it running on the same port until `close()`. */
export async function superviseBroker(start: StartMessage, maxHeapMb: number, log: TelemetryLogger | undefined): Promise<BrokerProcess> {
  const first = await spawnChild(start, maxHeapMb, log);
  const port = first.port;
  const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  let child: ChildProcess | undefined = first.child;
  let startedAt = Date.now();
  let restarts = 0;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;

  const watch = (c: ChildProcess): void => {
    c.once('exit', (code, signal) => {
      if (closing || child !== c) return;
      child = undefined;
      if (Date.now() - startedAt >= STABLE_MS) backoff.reset();
      const wait = backoff.next();
      log?.error({ code, signal, restartInMs: wait }, 'embedded MQTT broker process died; restarting it (the mirror keeps running)');
      timer = setTimeout(() => void respawn(), wait);
    });
  };
  const respawn = async (): Promise<void> => {
    if (closing) return;
    try {
      const next = await spawnChild({ ...start, port }, maxHeapMb, log);
      if (closing) return void (await stopChild(next.child));
      child = next.child;
      startedAt = Date.now();
      restarts += 1;
      watch(next.child);
      log?.info({ port, restarts }, 'embedded MQTT broker restarted');
    } catch (err) {
      const wait = backoff.next();
      log?.error({ ...errorFields(err), restartInMs: wait }, 'embedded MQTT broker restart failed; retrying');
      timer = setTimeout(() => void respawn(), wait);
    }
  };
  watch(first.child);

  let closed: Promise<void> | undefined;
  return {
    port,
    get running() {
      return child !== undefined;
    },
    get restarts() {
      return restarts;
    },
    get pid() {
      return child?.pid;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        clearTimeout(timer);
        if (child) await stopChild(child);
        child = undefined;
        log?.info({ port }, 'embedded MQTT broker closed');
      })();
      return closed;
    },
  };
}

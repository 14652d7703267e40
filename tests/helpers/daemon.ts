/**
 * Starts the real daemon (tsx device/main.ts) as a child process on a free port, on the bundled
 * demo clip unless told otherwise, and waits for its "kiosk listening" log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningDaemon {
  port: number;
  url: string;
  child: ChildProcess;
  /** Every JSON log line the daemon printed so far. */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; ms: number }>;
}

/** startDaemon's failure; by the time it is thrown, the process `pid` (and its group) is gone. */
export class DaemonStartError extends Error {
  constructor(
    message: string,
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

export interface StartOptions {
  env?: Record<string, string>;
  args?: string[];
  timeoutMs?: number;
}

/**
 * Daemons of this test file still running. A test that times out while its daemon is starting
 * never reaches its `finally`, and when it is the file's last test the worker ends before the
 * start timer fires: the daemon, its ffmpeg and broker would outlive the run and load the machine.
 */
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) killGroup(child);
});

export function runDaemonProcess(options: StartOptions = {}): ChildProcess {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'mirror-state-'));
  // tsx as a loader in this very process (not its CLI, which runs the script in a child), so the
  // child's pid is the daemon's and SIGKILL reaches it as a power cut would.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'main.ts'), ...(options.args ?? [])], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      MIRROR_STATE_DIR: stateDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a start failure can end the daemon and whatever it spawned (ffmpeg).
    detached: true,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** SIGKILL to the child's whole process group (the child itself leads it); gone already is fine. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export async function startDaemon(options: StartOptions = {}): Promise<RunningDaemon> {
  const env = { ...options.env };
  // Default to an ephemeral embedded broker port so parallel test files never collide.
  if (!env.MQTT_URL && !env.MIRROR_CONFIG && !options.args?.includes('--config')) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-config-'));
    const file = path.join(dir, 'mirror.json');
    (await import('node:fs')).writeFileSync(file, JSON.stringify({ mqtt: { embeddedPort: 0 } }));
    env.MIRROR_CONFIG = file;
  }
  const child = runDaemonProcess({ ...options, env });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`daemon did not start within ${options.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not a log line (a stray print): the daemon's own logs are one JSON object a line
        }
        logs.push(entry);
        if (entry.msg === 'kiosk listening') {
          clearTimeout(timer);
          resolve(entry.port as number);
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited during start-up (code ${code}, signal ${signal})\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    // A daemon that did not start must not outlive the test (orphans pile up and load the machine).
    killGroup(child);
    if (child.exitCode === null && child.signalCode === null) await exited;
    throw new DaemonStartError((err as Error).message, child.pid);
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    logs,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      killGroup(child); // whatever it spawned and left behind (a SIGKILLed daemon cannot clean up)
      return { ...result, ms: performance.now() - started };
    },
  };
}

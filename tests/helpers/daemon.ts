/**
 * Starts the real daemon (tsx device/main.ts) as a child process on a free port, on the bundled
 * demo clip unless told otherwise, and waits for its "kiosk listening" log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

export interface StartOptions {
  env?: Record<string, string>;
  args?: string[];
  timeoutMs?: number;
}

export function runDaemonProcess(options: StartOptions = {}): ChildProcess {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'mirror-state-'));
  // tsx as a loader in this very process (not its CLI, which runs the script in a child), so the
  // child's pid is the daemon's and SIGKILL reaches it as a power cut would.
  return spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'main.ts'), ...(options.args ?? [])], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: '0',
      MIRROR_STATE_DIR: stateDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
      // A daemon that did not start in time must not outlive the test (it would load the machine).
      child.kill('SIGKILL');
      reject(new Error(`daemon did not start within ${options.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
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
      return { ...result, ms: performance.now() - started };
    },
  };
}

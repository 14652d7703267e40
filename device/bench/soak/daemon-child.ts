/**
 * The daemon under soak: the real entry point (device/main.ts) as a child process on the bundled
 * demo clip, on a free loopback port, with a fresh state dir and an embedded broker on a free
 * port, and the memory probe preloaded. Resolves once it logs "kiosk listening".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

export interface MemoryUsage {
  rss: number;
  heapUsed: number;
}

export interface SoakedDaemon {
  url: string;
  pid: number;
  memory(): Promise<MemoryUsage>;
  /** Log lines at error level or above so far. */
  errorLines(): number;
  /** Exit code or signal, once it has exited on its own; null while it runs. */
  exited(): string | null;
  stderrTail(): string;
  stop(): Promise<void>;
}

export async function startSoakedDaemon(options: { env?: Record<string, string> } = {}): Promise<SoakedDaemon> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-soak-'));
  const config = path.join(dir, 'mirror.json');
  writeFileSync(config, JSON.stringify({ mqtt: { embeddedPort: 0 } }));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', path.join(here, 'memory-probe.ts'), path.join(repoRoot, 'device', 'main.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MIRROR_STATE_DIR: path.join(dir, 'state'), MIRROR_CONFIG: config, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = signal ?? `code ${code}`;
      resolve();
    }),
  );
  let errorLines = 0;
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`daemon did not start within 120 s\n${stderr}`)), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        // pino levels: 50 error, 60 fatal.
        if (/^\{"level":(5|6)0,/.test(line)) errorLines++;
        if (!line.includes('"kiosk listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`daemon exited during start-up (${exit})\n${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    memory: () =>
      new Promise<MemoryUsage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('daemon did not answer the memory probe within 5 s')), 5000);
        child.once('message', (m) => {
          clearTimeout(timer);
          resolve(m as MemoryUsage);
        });
        child.send('memory');
      }),
    errorLines: () => errorLines,
    exited: () => exit,
    stderrTail: () => stderr,
    async stop() {
      if (exit === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

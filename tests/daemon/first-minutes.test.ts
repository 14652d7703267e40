/**
 * The first five minutes of `npm start`: on a terminal one human line says what runs, from which
 * source, and where to open it; under journald or a pipe every stdout line stays one JSON object.
 * A CPU-only host is the normal case: no warning about missing GPU providers.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runDaemonProcess } from '../helpers/daemon.ts';

function embeddedBrokerConfig(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-config-')), 'mirror.json');
  writeFileSync(file, JSON.stringify({ mqtt: { embeddedPort: 0 } }));
  return file;
}

/** Every process below `pid` (children first listed), from /proc. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

/**
 * Reads the child's stdout until `done` says so (or the timeout), then stops it with SIGTERM.
 * `stop` picks the process to signal (the daemon below `script`, which would only hang it up).
 */
function readUntil(child: ReturnType<typeof spawn>, done: (text: string) => boolean, timeoutMs = 90_000, stop = () => [child.pid!]): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      for (const pid of stop()) process.kill(pid, 'SIGKILL');
      reject(new Error(`timed out; output so far:\n${text.slice(-3000)}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) {
        clearTimeout(timer);
        child.once('exit', () => resolve(text));
        for (const pid of stop()) process.kill(pid, 'SIGTERM');
      }
    });
  });
}

describe('first minutes', () => {
  it('not a terminal (journald, a pipe): every stdout line is a JSON object, and no GPU warning on a CPU host', async () => {
    const child = runDaemonProcess({ env: { MIRROR_CONFIG: embeddedBrokerConfig() } });
    const text = await readUntil(child, (t) => t.includes('"pipeline running"'));
    const lines = text.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(5);
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as { level: number; msg: string };
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
    expect(text).not.toContain('Mirror running on');
    // This test box has no GPU: the CPU is the normal case, said once at info, never warned.
    const warnings = entries.filter((e) => e.level >= 40).map((e) => e.msg);
    expect(warnings.filter((m) => /provider|degrad|GPU/i.test(m))).toEqual([]);
  }, 120_000);

  it('on a terminal: one friendly line with the address to open and the source', async () => {
    // `script` gives the daemon a pseudo-terminal as stdout, as `npm start` in a shell does.
    const command = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'device', 'main.ts')].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', MIRROR_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'mirror-state-')), MIRROR_CONFIG: embeddedBrokerConfig() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const daemonPid = () => descendants(child.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('device/main.ts')).slice(-1);
    const text = await readUntil(child, (t) => /Mirror running on [^\r\n]*\r?\n/.test(t), 90_000, daemonPid);
    const line = text.split(/\r?\n/).find((l) => l.startsWith('Mirror running on'))!;
    expect(line).toMatch(/^Mirror running on http:\/\/127\.0\.0\.1:\d+ - source: demo clip \(no camera found\) - health: http:\/\/127\.0\.0\.1:\d+\/healthz/);
    expect(text.split(/\r?\n/).filter((l) => l.startsWith('Mirror running on'))).toHaveLength(1);
  }, 120_000);
});

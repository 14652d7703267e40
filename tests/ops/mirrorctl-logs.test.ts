/** `mirrorctl logs --stdin`: the daemon's pino JSON lines made readable (the bin, as run). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';

function prettyPrint(input: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/control/mirrorctl.ts'), 'logs', '--stdin'], { cwd: repoRoot });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(out));
    child.stdin.end(input);
  });
}

describe('mirrorctl logs', () => {
  it('prints time, level, message and fields; drops a journald priority prefix; keeps non-JSON lines', async () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const out = await prettyPrint(
      [
        JSON.stringify({ level: 30, time, pid: 1, hostname: 'm', service: 'mirror', port: 8080, msg: 'kiosk listening' }),
        `<4>${JSON.stringify({ level: 40, time, msg: 'config reload refused; nothing changed', err: 'config key "port": bad' })}`,
        'plain text from a child',
        '',
      ].join('\n'),
    );
    expect(out.split('\n')).toEqual([
      '03:04:05.678 INFO  kiosk listening port=8080',
      '03:04:05.678 WARN  config reload refused; nothing changed err=config key "port": bad',
      'plain text from a child',
      '',
    ]);
  }, 30_000);
});

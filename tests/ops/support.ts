/** Shared by the ops suites: run the real `mirrorctl` bin against a daemon's control socket. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../helpers/daemon.ts';
import { until as poll } from '../helpers/until.ts';

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async on purpose: a kiosk client in the test process must be able to answer while it waits. */
export function mirrorctl(socketFile: string, ...args: string[]): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device/control/mirrorctl.ts'), ...args, '--socket', socketFile], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function until(probe: () => boolean, ms = 20_000): Promise<void> {
  await poll(probe, { timeoutMs: ms, everyMs: 50 });
}

/**
 * A daemon that does not start in time is ended with its process group before startDaemon
 * rejects: under load such children used to keep running after the test and pile up.
 */
import { describe, expect, it } from 'vitest';
import { DaemonStartError, startDaemon } from '../helpers/daemon.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
};

describe('startDaemon when the daemon does not start in time', () => {
  it('rejects with the pid, and that process and its group are gone', async () => {
    // 1 ms: the real daemon cannot log "kiosk listening" that soon.
    const err = await startDaemon({ timeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DaemonStartError);
    const { pid, message } = err as DaemonStartError;
    expect(message).toMatch(/did not start within 1 ms/);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid!)).toBe(false);
    expect(alive(-pid!)).toBe(false);
  });
});

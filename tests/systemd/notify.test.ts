/**
 * sd_notify wrapper. systemd itself cannot run here (no PID 1 systemd in the test environment), so
 * a fake `systemd-notify` script placed first on PATH stands in for it: it only records the argv it
 * was called with. That checks what we send and how; it does not prove systemd accepts it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createSystemdNotifier, watchdogIntervalFromEnv, type NotifyLogger } from '../../device/systemd/notify.ts';

const ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'PATH'] as const;

let saved: Record<string, string | undefined>;
let dir: string;
let record: string;

function recordingLogger(): NotifyLogger & { warnings: Array<[object, string | undefined]> } {
  const warnings: Array<[object, string | undefined]> = [];
  return { warnings, warn: (obj, msg) => warnings.push([obj, msg]), debug: () => {} };
}

/** Fake systemd-notify: appends its argv, one argument per line, then a blank line. */
function installFakeNotify(): void {
  const script = join(dir, 'systemd-notify');
  writeFileSync(script, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${record}'; done\nprintf '\\n' >> '${record}'\n`);
  chmodSync(script, 0o755);
  process.env.PATH = `${dir}${delimiter}${saved.PATH ?? ''}`;
}

/** The calls recorded so far, each as its argv. */
function calls(): string[][] {
  if (!existsSync(record)) return [];
  return readFileSync(record, 'utf8')
    .split('\n\n')
    .filter((c) => c.trim() !== '')
    .map((c) => c.split('\n').filter((l) => l !== ''));
}

async function waitForCalls(n: number, timeoutMs = 5000): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs;
  while (calls().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return calls();
}

beforeEach(() => {
  saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) if (k !== 'PATH') delete process.env[k];
  dir = mkdtempSync(join(tmpdir(), 'sd-notify-'));
  record = join(dir, 'argv.log');
});

afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('createSystemdNotifier', () => {
  it('is inert when NOTIFY_SOCKET is unset', async () => {
    installFakeNotify();
    process.env.WATCHDOG_USEC = '10000000';
    const log = recordingLogger();
    const n = createSystemdNotifier(log);
    expect(n.watchdogIntervalMs).toBeNull();
    expect(n.active).toBe(false);
    n.ready('up');
    n.watchdog();
    n.status('x');
    n.stopping();
    await new Promise((r) => setTimeout(r, 200));
    expect(calls()).toEqual([]);
    expect(log.warnings).toEqual([]);
  });

  it('sends READY=1 / WATCHDOG=1 / STATUS= / STOPPING=1 with --pid through systemd-notify', async () => {
    installFakeNotify();
    process.env.NOTIFY_SOCKET = join(dir, 'notify.sock');
    process.env.WATCHDOG_USEC = '10000000';
    process.env.WATCHDOG_PID = String(process.pid);
    const log = recordingLogger();
    const n = createSystemdNotifier(log);
    expect(n.active).toBe(true);
    expect(n.watchdogIntervalMs).toBe(5000);

    n.ready();
    n.watchdog();
    let got = await waitForCalls(2);
    expect(got).toEqual([
      [`--pid=${process.pid}`, 'READY=1'],
      [`--pid=${process.pid}`, 'WATCHDOG=1'],
    ]);

    n.status('camera up\nmodels loaded');
    n.stopping();
    got = await waitForCalls(4);
    expect(got).toHaveLength(4);
    expect(got).toContainEqual([`--pid=${process.pid}`, 'STATUS=camera up models loaded']);
    expect(got).toContainEqual([`--pid=${process.pid}`, 'STOPPING=1']);
    expect(log.warnings).toEqual([]);
  });

  it('sends STATUS= along with READY=1 when given', async () => {
    installFakeNotify();
    process.env.NOTIFY_SOCKET = '@sd-test';
    const n = createSystemdNotifier();
    expect(n.watchdogIntervalMs).toBeNull();
    n.ready('serving on :8080');
    expect(await waitForCalls(1)).toEqual([[`--pid=${process.pid}`, 'READY=1', 'STATUS=serving on :8080']]);
  });

  it('never throws and logs a missing binary once', async () => {
    process.env.PATH = dir; // empty dir: no systemd-notify anywhere
    process.env.NOTIFY_SOCKET = '@sd-test';
    const log = recordingLogger();
    const n = createSystemdNotifier(log);
    expect(() => {
      n.ready();
      n.watchdog();
      n.watchdog();
      n.stopping();
    }).not.toThrow();
    await new Promise((r) => setTimeout(r, 300));
    n.watchdog();
    n.stopping();
    await new Promise((r) => setTimeout(r, 100));
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0][1]).toMatch(/not found/);
  });

  it('logs a failing systemd-notify once and keeps going', async () => {
    const script = join(dir, 'systemd-notify');
    writeFileSync(script, `#!/bin/sh\nprintf 'called\\n\\n' >> '${record}'\necho "Failed to notify init system" >&2\nexit 1\n`);
    chmodSync(script, 0o755);
    process.env.PATH = `${dir}${delimiter}${saved.PATH ?? ''}`;
    process.env.NOTIFY_SOCKET = '@sd-test';
    const log = recordingLogger();
    const n = createSystemdNotifier(log);
    n.ready();
    n.watchdog();
    n.stopping();
    expect(await waitForCalls(3)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 100)); // let the last exec callback run
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0][1]).toMatch(/systemd-notify failed/);
  });
});

describe('watchdogIntervalFromEnv', () => {
  it('is half of WATCHDOG_USEC, in ms', () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '10000000' }, 42)).toBe(5000);
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '3000000', WATCHDOG_PID: '42' }, 42)).toBe(1500);
  });

  it('is null when the watchdog is meant for another process or not set up', () => {
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '41' }, 42)).toBeNull();
    expect(watchdogIntervalFromEnv({}, 42)).toBeNull();
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
    expect(watchdogIntervalFromEnv({ WATCHDOG_USEC: 'abc' }, 42)).toBeNull();
  });
});

/**
 * Logs under systemd: journald reads the daemon's stdout and takes a leading `<N>` as the line's
 * priority, so `journalctl -p warning` finds warnings. The real daemon is started the way systemd
 * does it: stdout is a stream whose dev:inode is in JOURNAL_STREAM.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRootLogger, stdoutIsJournal, syslogPrefix } from '../../device/core/logger.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { until as poll } from '../helpers/until.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-journal-'));

const until = <T>(probe: () => T | undefined, ms: number): Promise<T> => poll(probe, { timeoutMs: ms, everyMs: 100 });

describe('journald priorities', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('the daemon under systemd prefixes each JSON line with its syslog priority (<6> info, <4> warn)', async () => {
    const out = path.join(dir, 'stdout.log');
    const fd = openSync(out, 'w');
    const st = fstatSync(fd, { bigint: true });
    const config = path.join(dir, 'mirror.json');
    // tryon.pin makes the daemon log a warning at start-up.
    writeFileSync(config, JSON.stringify({ mqtt: { embeddedPort: 0 }, tryon: { pin: { productId: 'kora-glass-gloss' } } }));
    // As systemd does: the journal stream is the daemon's fd 1, and JOURNAL_STREAM names it.
    const real = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', MIRROR_STATE_DIR: mkdtempSync(path.join(dir, 'state-')), MIRROR_CONFIG: config, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      stdio: ['ignore', fd, 'pipe'],
    });
    children.push(real);
    closeSync(fd);
    const lines = await until(() => {
      const text = readFileSync(out, 'utf8');
      return text.includes('kiosk listening') ? text.split('\n').filter(Boolean) : undefined;
    }, 150_000);
    real.kill('SIGTERM');
    const listening = lines.find((l) => l.includes('"msg":"kiosk listening"'))!;
    expect(listening.startsWith('<6>{"level":30,')).toBe(true);
    const pinned = lines.find((l) => l.includes('tryon.pin replaces'))!;
    expect(pinned.startsWith('<4>{"level":40,')).toBe(true);
    for (const line of lines) {
      expect(line).toMatch(/^<[2-7]>\{/);
      expect(() => JSON.parse(line.slice(3))).not.toThrow();
    }
  }, 180_000);

  it('maps every pino level to its syslog priority', () => {
    const line = (level: number) => `{"level":${level},"time":1,"msg":"x"}`;
    expect([60, 50, 40, 30, 20, 10].map((l) => syslogPrefix(line(l)))).toEqual(['<2>', '<3>', '<4>', '<6>', '<7>', '<7>']);
    expect(syslogPrefix('not json')).toBe('');
  });

  it('stays plain JSON when JOURNAL_STREAM names another stream than stdout (an inherited variable)', () => {
    const other = openSync(path.join(dir, 'other'), 'w');
    const st = fstatSync(other, { bigint: true });
    expect(stdoutIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, other)).toBe(true);
    expect(stdoutIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, other)).toBe(false);
    expect(stdoutIsJournal({ JOURNAL_STREAM: 'garbage' }, other)).toBe(false);
    expect(stdoutIsJournal({}, other)).toBe(false);
    closeSync(other);
    expect(createRootLogger('info', {}).level).toBe('info');
  });
});

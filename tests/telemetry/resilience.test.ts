/**
 * The pieces that keep a fleet of mirrors from hurting the broker or themselves: jittered
 * reconnect backoff and a connectionSeq that never goes back.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff, backoffDelayMs, MIN_DELAY_MS, type BackoffPolicy } from '../../device/core/backoff.ts';
import { CONNECTION_SEQ_FILE, createConnectionSeqStore } from '../../device/telemetry/connection-seq.ts';
import { createTelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { recordingLogger, tempDir } from './support.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const base = {
  url: 'mqtt://127.0.0.1:1',
  storeId: 's1',
  deviceId: 'd1',
  firmwareVersion: '1',
  intervalMs: 1000,
  stateDir: '/nonexistent',
  snapshot: () => ({ fps: 0, latencyP50Ms: 0, latencyP95Ms: 0, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
  logger: recordingLogger(),
};

describe('reconnect backoff', () => {
  const backoff: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, jitter: 'full' };
  const reconnectDelayMs = (attempt: number, policy: BackoffPolicy, random?: () => number): number => backoffDelayMs(attempt, policy, random);

  it('mirrors that lost the broker together do not retry in lockstep (delays are spread)', () => {
    const delays = Array.from({ length: 1000 }, () => reconnectDelayMs(5, backoff));
    const distinct = new Set(delays.map((d) => Math.floor(d / 1000)));
    // attempt 5: uniform over [0.1 s, 32 s]: retries land in many different seconds.
    expect(distinct.size).toBeGreaterThan(20);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(32_000);
  });

  it('the ceiling grows exponentially and stops at maxMs, so a long outage is not hammered', () => {
    const top = (attempt: number): number => reconnectDelayMs(attempt, backoff, () => 1);
    expect([0, 1, 2, 3].map(top)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(top(6)).toBe(60_000);
    expect(top(1_000)).toBe(60_000);
    expect(reconnectDelayMs(0, backoff, () => 0)).toBe(100);
  });

  it('a broken random source cannot produce a negative or runaway delay', () => {
    expect(reconnectDelayMs(3, backoff, () => -5)).toBe(100);
    expect(reconnectDelayMs(3, backoff, () => 7)).toBe(8_000);
    expect(reconnectDelayMs(-1, backoff, () => 1)).toBe(1_000);
  });

  it('a crashing child is never restarted almost at once (equal jitter: at least half the ceiling)', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000, random: () => 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([250, 500, 1_000]);
    b.reset();
    expect(b.next()).toBe(250);
    const top = new Backoff({ initialMs: 500, maxMs: 30_000, random: () => 1 });
    expect([top.next(), top.next()]).toEqual([500, 1_000]);
  });
});

describe('connectionSeq on disk', () => {
  it('a restarted daemon continues after the last persisted sequence number', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const log = recordingLogger();
    const a = createConnectionSeqStore(t.dir, log, () => 1_000);
    expect([await a.next(), await a.next(), await a.next()]).toEqual([1_001, 1_002, 1_003]);
    const b = createConnectionSeqStore(t.dir, log, () => 5);
    expect(await b.next()).toBe(1_004);
    expect((await readFile(path.join(t.dir, CONNECTION_SEQ_FILE), 'utf8')).trim()).toBe('1004');
  });

  it('a lost state dir does not send the sequence back: it restarts above every number the old dir reached', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const log = recordingLogger();
    // The clock as the daemon sees it: attempts are at least MIN_DELAY_MS apart (core/backoff.ts), so
    // 50 attempts after the old dir was seeded, the clock is 50 x MIN_DELAY_MS further on. (Fifty
    // writes back to back against the real clock raced it: an atomic write can take under a millisecond.)
    let clock = Date.now();
    const old = createConnectionSeqStore(t.dir, log, () => clock);
    let last = 0;
    for (let i = 0; i < 50; i++) {
      last = await old.next();
      clock += MIN_DELAY_MS;
    }
    await rm(t.dir, { recursive: true, force: true });
    const fresh = await createConnectionSeqStore(t.dir, log, () => clock).next();
    expect(fresh).toBeGreaterThan(last);
  });

  it('a corrupt sequence file never makes the daemon reuse a sequence number', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    await writeFile(path.join(t.dir, CONNECTION_SEQ_FILE), '\u0000\u0000garbage');
    const log = recordingLogger();
    const before = Date.now();
    const seq = await createConnectionSeqStore(t.dir, log).next();
    expect(seq).toBeGreaterThan(before);
    expect(log.lines.some((l) => l.level === 'warn' && /corrupt/.test(l.msg ?? ''))).toBe(true);
  });

  it('a state dir that cannot be written (here: a file, which fails for root too) does not stop the counter', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const notADir = path.join(t.dir, 'state');
    await writeFile(notADir, 'not a directory');
    const log = recordingLogger();
    const s = createConnectionSeqStore(notADir, log, () => 7_000);
    expect([await s.next(), await s.next()]).toEqual([7_001, 7_002]);
    expect(log.lines.filter((l) => l.level === 'error' && /could not persist/.test(l.msg ?? '')).length).toBe(2);
  });

  it('the state dir is created when missing', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const nested = path.join(t.dir, 'var', 'lib', 'mirror');
    expect(await createConnectionSeqStore(nested, recordingLogger(), () => 41).next()).toBe(42);
    expect((await readFile(path.join(nested, CONNECTION_SEQ_FILE), 'utf8')).trim()).toBe('42');
  });
});

describe('agent options', () => {

  it('bad config is reported at construction, with the option named', () => {
    expect(() => createTelemetryAgent({ ...base, deviceId: 'mirror/1' })).toThrow(/deviceId/);
    expect(() => createTelemetryAgent({ ...base, storeId: '' })).toThrow(/storeId/);
    expect(() => createTelemetryAgent({ ...base, url: 'http://broker' })).toThrow(/scheme/);
    expect(() => createTelemetryAgent({ ...base, url: 'not a url' })).toThrow(/url/);
    expect(() => createTelemetryAgent({ ...base, intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => createTelemetryAgent({ ...base, firmwareVersion: '' })).toThrow(/firmwareVersion/);
  });

  it('credentials in the broker URL never reach the log', async () => {
    const logger = recordingLogger();
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const agent = createTelemetryAgent({
      ...base,
      url: 'mqtt://mirror:s3cret@127.0.0.1:1',
      stateDir: t.dir,
      logger,
      startTimeoutMs: 1_000,
      reconnect: { initialMs: 100, maxMs: 200 },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    await agent.stop();
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(logger.lines)).not.toContain('s3cret');
  });

  it('stop() before start() and twice in a row is harmless', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const agent = createTelemetryAgent({ ...base, stateDir: t.dir, logger: recordingLogger() });
    await agent.stop();
    await agent.stop();
    await agent.start();
    expect(agent.connected).toBe(false);
  });
});

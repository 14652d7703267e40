/**
 * The durable outbox on its own: bounded by size with telemetry dropped before events, counts
 * that survive a restart, order kept, and a lock left by a killed process not blocking the next.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../device/telemetry/outbox.ts';
import { recordingLogger, sleep, tempDir } from './support.ts';

describe('durable outbox', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function file(): Promise<string> {
    const t = await tempDir('mirror-outbox-');
    cleanups.push(t.remove);
    return path.join(t.dir, 'outbox.sqlite');
  }

  it('a full outbox drops the oldest telemetry first and keeps every event, counting the drops across a restart', async () => {
    const f = await file();
    const logger = recordingLogger();
    let box = new Outbox({ file: f, maxBytes: 64 * 1024, logger });
    const payload = (tag: string) => Buffer.from(tag.padEnd(1000, '.'));
    for (let i = 0; i < 40; i++) box.append('event', 't/e', payload(`event-${i}`));
    for (let i = 0; i < 100; i++) box.append('telemetry', 't/m', payload(`metrics-${i}`));
    const st = box.stats();
    expect(st.pendingBytes).toBeLessThanOrEqual(64 * 1024);
    expect(st.dropped.event).toBe(0);
    expect(st.dropped.telemetry).toBeGreaterThan(0);
    box.close();

    box = new Outbox({ file: f, maxBytes: 64 * 1024, logger });
    cleanups.push(async () => box.close());
    expect(box.stats().dropped.telemetry).toBe(st.dropped.telemetry);
    const all = box.after(0, 1000).map((r) => r.payload.toString().replace(/\.+$/, ''));
    expect(all.filter((p) => p.startsWith('event-'))).toEqual([...Array(40).keys()].map((i) => `event-${i}`));
    // The newest telemetry survived, the oldest went.
    expect(all.at(-1)).toBe('metrics-99');
    expect(all).not.toContain('metrics-0');
    expect(logger.lines.some((l) => l.msg?.includes('outbox full'))).toBe(true);
  });

  it('only events left and still full: the oldest events go, counted', async () => {
    const box = new Outbox({ file: await file(), maxBytes: 64 * 1024, logger: recordingLogger() });
    cleanups.push(async () => box.close());
    for (let i = 0; i < 100; i++) box.append('event', 't/e', Buffer.alloc(1000, 1));
    expect(box.stats().dropped.event).toBeGreaterThan(0);
    expect(box.stats().pendingBytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('records come back in append order after a restart, and a deleted (acknowledged) record never comes back', async () => {
    const f = await file();
    const box = new Outbox({ file: f, logger: recordingLogger() });
    const ids = [...Array(10).keys()].map((i) => box.append(i % 2 ? 'event' : 'telemetry', 't', Buffer.from(String(i))));
    box.delete(ids[3]);
    box.delete(ids[3]); // an ack for a record already gone is harmless
    box.close();
    const again = new Outbox({ file: f, logger: recordingLogger() });
    cleanups.push(async () => again.close());
    expect(again.after(0, 100).map((r) => r.payload.toString())).toEqual(['0', '1', '2', '4', '5', '6', '7', '8', '9']);
    expect(again.after(ids[5], 2).map((r) => r.payload.toString())).toEqual(['6', '7']);
  });

  it('a lock directory left by a killed daemon does not block the outbox at the next start', async () => {
    const f = await file();
    mkdirSync(`${f}.lock`);
    const logger = recordingLogger();
    const box = new Outbox({ file: f, logger });
    cleanups.push(async () => box.close());
    box.append('event', 't', Buffer.from('x'));
    expect(box.stats()).toMatchObject({ pending: 0, unsaved: 1 });
    box.flush();
    expect(box.stats()).toMatchObject({ pending: 1, unsaved: 0 });
    expect(logger.lines.some((l) => l.msg?.includes('removed a lock'))).toBe(true);
  });
});

describe('outbox writes off the frame path', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('a flood of 5,000 appends in one tick is one transaction, not 5,000 fsyncs on the event loop', async () => {
    const t = await tempDir('mirror-outbox-');
    cleanups.push(t.remove);
    const box = new Outbox({ file: path.join(t.dir, 'outbox.sqlite'), logger: recordingLogger() });
    cleanups.push(() => box.close());
    let commits = 0;
    box.onCommit(() => (commits += 1));
    for (let i = 0; i < 5_000; i++) box.append('update', 't/u', Buffer.from(`rejected-${i}`));
    expect(commits).toBe(0);
    expect(box.after(0, 10)).toHaveLength(0); // not sent before it is on disk
    while (commits === 0) await sleep(10);
    expect(commits).toBe(1);
    expect(box.after(0, 10_000)).toHaveLength(5_000);
    // Acknowledgements are batched the same way.
    for (const r of box.after(0, 10_000)) box.delete(r.id);
    expect(box.stats()).toMatchObject({ pending: 0, unsaved: 0 });
    while (commits === 1) await sleep(10);
    expect(commits).toBe(2);
  });

  it('kill -9 after the batch committed: every record is there at the next start', async () => {
    const t = await tempDir('mirror-outbox-');
    cleanups.push(t.remove);
    const file = path.join(t.dir, 'outbox.sqlite');
    const fixture = fileURLToPath(new URL('./fixtures/outbox-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, OUTBOX_FILE: file, OUTBOX_RECORDS: '300' }, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('committed') && resolve());
      child.once('exit', (code) => reject(new Error(`outbox child exited (${code}) before committing`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const again = new Outbox({ file, logger: recordingLogger() });
    cleanups.push(() => again.close());
    expect(again.after(0, 1_000).map((r) => r.payload.toString())).toEqual([...Array(300).keys()].map(String));
  }, 60_000);
});

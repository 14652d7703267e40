/**
 * The pieces that keep a fleet of mirrors from hurting the broker or themselves: jittered
 * reconnect backoff, a connectionSeq that never goes back, an embedded broker that does not give
 * up when its port is taken.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../device/telemetry/embedded-broker.ts';
import {
  CONNECTION_SEQ_FILE,
  createConnectionSeqStore,
  createTelemetryAgent,
  reconnectDelayMs,
} from '../../device/telemetry/mqtt-agent.ts';
import { statusTopic } from '../../fleet/protocol/topics.ts';
import { recordingLogger, startTcpProxy, subscribe, tempDir } from './support.ts';

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
  const backoff = { initialMs: 1_000, maxMs: 60_000 };

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
});

describe('connectionSeq on disk', () => {
  it('a restarted daemon continues after the last persisted sequence number', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const log = recordingLogger();
    const a = createConnectionSeqStore(t.dir, log);
    expect([await a.next(), await a.next(), await a.next()]).toEqual([1, 2, 3]);
    const b = createConnectionSeqStore(t.dir, log);
    expect(await b.next()).toBe(4);
    expect((await readFile(path.join(t.dir, CONNECTION_SEQ_FILE), 'utf8')).trim()).toBe('4');
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

  it('a state dir that cannot be written does not stop the counter (logged, kept in memory)', async () => {
    if (process.getuid?.() === 0) return; // root ignores permissions; nothing to observe
    const t = await tempDir();
    cleanups.push(async () => {
      await chmod(t.dir, 0o700);
      await t.remove();
    });
    const ro = path.join(t.dir, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o500);
    const log = recordingLogger();
    const s = createConnectionSeqStore(ro, log);
    expect([await s.next(), await s.next()]).toEqual([1, 2]);
    expect(log.lines.some((l) => l.level === 'error')).toBe(true);
  });

  it('the state dir is created when missing', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const nested = path.join(t.dir, 'var', 'lib', 'mirror');
    expect(await createConnectionSeqStore(nested, recordingLogger()).next()).toBe(1);
    expect((await readFile(path.join(nested, CONNECTION_SEQ_FILE), 'utf8')).trim()).toBe('1');
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

describe('embedded broker', () => {
  it('port already taken: the embedded broker falls back to an ephemeral port and says so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen({ port: 0, host: '127.0.0.1' }, r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const taken = (blocker.address() as net.AddressInfo).port;
    const logger = recordingLogger();
    const broker = await startEmbeddedBroker({ port: taken, logger });
    cleanups.push(() => broker.close());
    expect(broker.port).not.toBe(taken);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(logger.lines.some((l) => l.level === 'warn' && /in use/.test(l.msg ?? ''))).toBe(true);
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await c.endAsync();
  });

  it('close() disconnects clients and frees the port, and may be called twice', async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    c.on('error', () => {});
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await Promise.all([broker.close(), broker.close()]);
    await closed;
    c.end(true);
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen({ port: broker.port, host: '127.0.0.1' }, resolve);
    });
    await new Promise<void>((r) => again.close(() => r()));
  });

  it('retained birth and last will work on the embedded broker too (npm start without MQTT_URL)', async () => {
    const broker = await startEmbeddedBroker({ port: 0 });
    cleanups.push(() => broker.close());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const agent = createTelemetryAgent({
      ...base,
      url: proxy.url,
      stateDir: t.dir,
      logger: recordingLogger(),
      reconnect: { initialMs: 5_000, maxMs: 5_000 },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    expect(agent.connected).toBe(true);
    const seq = agent.connectionSeq;
    const sub = await subscribe(broker.url, statusTopic({ storeId: 's1', deviceId: 'd1' }));
    cleanups.push(() => sub.close());
    const birth = await sub.waitFor(() => true, 5_000, 'retained birth');
    expect(birth.retain).toBe(true);
    expect(birth.json).toMatchObject({ state: 'online', connectionSeq: seq });
    proxy.cutAll();
    const will = await sub.waitFor((m) => (m.json as { state?: string }).state === 'offline', 5_000, 'will');
    expect(will.json).toMatchObject({ state: 'offline', reason: 'connection-lost', connectionSeq: seq });
  });

});

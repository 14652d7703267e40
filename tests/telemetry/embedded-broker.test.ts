/**
 * The demo broker cannot take the mirror down or be used by any local process: it runs in its own
 * process (restarted when it dies), refuses anonymous clients, keeps each login to its topics,
 * refuses oversized packets from their header and survives a publish burst.
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../device/telemetry/embedded-broker.ts';
import { createTelemetryAgent, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { statusTopic, telemetryTopic, updateTopic } from '../../fleet/protocol/topics.ts';
import { recordingLogger, sleep, startTcpProxy, subscribe, tempDir } from './support.ts';

const device = { storeId: 's1', deviceId: 'd1' };
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function broker(opts: { port?: number; logger?: ReturnType<typeof recordingLogger>; limits?: Parameters<typeof startEmbeddedBroker>[0]['limits'] } = {}): Promise<EmbeddedBroker> {
  const t = await tempDir();
  cleanups.push(() => t.remove());
  const b = await startEmbeddedBroker({ port: 0, device, stateDir: t.dir, ...opts });
  cleanups.push(() => b.close());
  return b;
}

async function connect(url: string, login: { username?: string; password?: string } = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 4, ...login });
  c.on('error', () => {});
  cleanups.push(() => c.endAsync(true));
  return c;
}

/** The daemon's agent as it runs on the demo broker: its generated device login. */
async function demoAgent(b: EmbeddedBroker, url: string, retryMs: number): Promise<TelemetryAgent> {
  const t = await tempDir();
  cleanups.push(() => t.remove());
  const agent = createTelemetryAgent({
    url,
    ...b.device,
    ...device,
    firmwareVersion: '1',
    intervalMs: 1000,
    stateDir: t.dir,
    snapshot: () => ({ fps: 0, latencyP50Ms: 0, latencyP95Ms: 0, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
    logger: recordingLogger(),
    reconnect: { initialMs: retryMs, maxMs: retryMs * 3 },
  });
  cleanups.push(() => agent.stop());
  return agent;
}

describe('embedded broker: access', () => {
  it('anonymous local clients and wrong passwords are refused at CONNECT', async () => {
    const b = await broker();
    await expect(mqtt.connectAsync(b.url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad User/i);
    await expect(mqtt.connectAsync(b.url, { reconnectPeriod: 0, username: b.fleet.username, password: 'x'.repeat(32) })).rejects.toThrow(
      /Not authorized|Bad User/i,
    );
  });

  it('the device login cannot read other topics or publish an offer; the fleet login reads telemetry', async () => {
    const b = await broker();
    const dev = await connect(b.url, b.device);
    // MQTT.js rejects a SUBACK that grants 0x80 (refused).
    await expect(dev.subscribeAsync(telemetryTopic(device), { qos: 1 })).rejects.toThrow();
    await expect(dev.subscribeAsync('mirror/v1/#', { qos: 1 })).rejects.toThrow();
    await expect(dev.subscribeAsync(updateTopic({ ...device, deviceId: 'other' }, 'offer'), { qos: 1 })).rejects.toThrow();
    expect((await dev.subscribeAsync(updateTopic(device, 'offer'), { qos: 1 }))[0].qos).toBe(1);

    const fleetSub = await subscribe(b.url, 'mirror/v1/#', b.fleet);
    cleanups.push(() => fleetSub.close());
    await dev.publishAsync(telemetryTopic(device), Buffer.from('{"ok":1}'), { qos: 1 });
    // A forbidden publish costs the publisher its connection; the offer reaches nobody.
    const forger = await connect(b.url, b.device);
    const dropped = new Promise<void>((r) => forger.once('close', () => r()));
    forger.publish(updateTopic(device, 'offer'), Buffer.from('{"forged":true}'), { qos: 0 });
    await dropped;
    const t = await fleetSub.waitFor((m) => m.topic === telemetryTopic(device), 5_000, 'device telemetry at the fleet');
    expect(t.payload.toString()).toBe('{"ok":1}');
    expect(fleetSub.messages.some((m) => m.topic.endsWith('/update/offer'))).toBe(false);
  });

  it('the fleet login cannot speak for a device (a forged birth or telemetry costs it the connection)', async () => {
    const b = await broker();
    const watcher = await subscribe(b.url, 'mirror/v1/#', b.fleet);
    cleanups.push(() => watcher.close());
    for (const topic of [statusTopic(device), telemetryTopic(device)]) {
      const forger = await connect(b.url, b.fleet);
      const dropped = new Promise<void>((r) => forger.once('close', () => r()));
      forger.publish(topic, Buffer.from('{"forged":true}'), { qos: 0 });
      await dropped;
    }
    const fleet = await connect(b.url, b.fleet);
    await fleet.publishAsync(updateTopic(device, 'cancel'), Buffer.from('{"allowed":true}'), { qos: 1 });
    await watcher.waitFor((m) => m.topic === updateTopic(device, 'cancel'), 5_000, 'the fleet\'s own cancel');
    expect(watcher.messages.some((m) => m.payload.toString().includes('forged'))).toBe(false);
  });

  it('the fleet password survives a restart (stored 0600 in the state dir)', async () => {
    const t = await tempDir();
    cleanups.push(() => t.remove());
    const a = await startEmbeddedBroker({ port: 0, device, stateDir: t.dir });
    await a.close();
    const b = await startEmbeddedBroker({ port: 0, device, stateDir: t.dir });
    cleanups.push(() => b.close());
    expect(b.fleet.password).toBe(a.fleet.password);
    expect(b.device.password).not.toBe(a.device.password);
    const { stat } = await import('node:fs/promises');
    expect((await stat(b.fleetSecretFile)).mode & 0o777).toBe(0o600);
  });
});

describe('embedded broker: limits', () => {
  it('a 200 MB publish is refused from its header and the broker keeps serving', async () => {
    const log = recordingLogger();
    const b = await broker({ logger: log });
    const fleetSub = await subscribe(b.url, 'mirror/v1/#', b.fleet);
    cleanups.push(() => fleetSub.close());
    // A raw CONNECT + a PUBLISH header announcing 200 MB; the body is never needed.
    const sock = net.connect(b.port, '127.0.0.1');
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    const c = await connect(b.url, b.device);
    const header = Buffer.from([0x30, 0x80, 0x80, 0xe4, 0x5f]); // PUBLISH, remaining length 200,000,000
    sock.write(header);
    sock.write(Buffer.alloc(64 * 1024));
    await closed;
    expect(log.lines.some((l) => /exceeds the 262144-byte limit/.test(l.msg ?? ''))).toBe(true);
    await c.publishAsync(telemetryTopic(device), Buffer.from('still here'), { qos: 1 });
    await fleetSub.waitFor((m) => m.payload.toString() === 'still here', 5_000);
    expect(b.restarts).toBe(0);
  });

  it('more than maxConnections clients: the extra one is refused, the others keep working', async () => {
    const b = await broker({ limits: { maxConnections: 2 } });
    const fleet = await connect(b.url, b.fleet);
    const dev = await connect(b.url, b.device);
    // The third TCP connection is closed by the broker before any MQTT is spoken.
    const extra = net.connect(b.port, '127.0.0.1');
    extra.on('error', () => {});
    await new Promise<void>((r) => extra.once('close', () => r()));
    const sub = await fleet.subscribeAsync(telemetryTopic(device), { qos: 1 });
    expect(sub[0].qos).toBe(1);
    await dev.publishAsync(telemetryTopic(device), Buffer.from('x'), { qos: 1 });
  });

  it('a publish burst from several local clients (thousands, QoS 0 and 1, mostly to topics nobody reads) does not kill the broker', async () => {
    const b = await broker({ limits: { publishPerSecond: 100_000, publishBurst: 100_000 } });
    const fleetSub = await subscribe(b.url, `mirror/v1/${device.storeId}/+/telemetry`, b.fleet);
    cleanups.push(() => fleetSub.close());
    const clients = await Promise.all(Array.from({ length: 6 }, () => connect(b.url, b.fleet)));
    const dev = await connect(b.url, b.device);
    const payload = Buffer.alloc(64);
    for (let i = 0; i < 20_000; i++) {
      for (const c of clients) c.publish(`mirror/v1/s1/ghost${i % 50}/cmd/x`, payload, { qos: (i % 2) as 0 | 1 });
      if (i % 10 === 0) dev.publish(telemetryTopic(device), payload, { qos: 0 });
    }
    await dev.publishAsync(telemetryTopic(device), Buffer.from('after the burst'), { qos: 1 });
    await fleetSub.waitFor((m) => m.payload.toString() === 'after the burst', 60_000, 'a message after the burst');
    expect(b.restarts).toBe(0);
    expect(b.running).toBe(true);
  }, 90_000);

  it('a client over its publish rate is slowed down, not served at once', async () => {
    const b = await broker({ limits: { publishPerSecond: 50, publishBurst: 10 } });
    const fleetSub = await subscribe(b.url, telemetryTopic(device), b.fleet);
    cleanups.push(() => fleetSub.close());
    const dev = await connect(b.url, b.device);
    for (let i = 0; i < 60; i++) dev.publish(telemetryTopic(device), Buffer.from(String(i)), { qos: 0 });
    await sleep(300);
    // 10 of burst plus ~50/s: far fewer than 60 have passed after 0.3 s ...
    expect(fleetSub.messages.length).toBeLessThan(40);
    // ... and all of them arrive eventually (slowed, not dropped).
    await fleetSub.waitFor((m) => m.payload.toString() === '59', 10_000, 'the last paced message');
  });
});

describe('embedded broker: process', () => {
  it('the broker process dies: it is restarted on the same port and the agent reconnects with a new birth', async () => {
    const log = recordingLogger();
    const b = await broker({ logger: log });
    const agent = await demoAgent(b, b.url, 100);
    await agent.start();
    expect(agent.connected).toBe(true);
    const firstSeq = agent.connectionSeq;
    process.kill(b.pid!, 'SIGKILL');
    const deadline = Date.now() + 20_000;
    while (!(b.restarts === 1 && agent.connected && agent.connectionSeq > firstSeq) && Date.now() < deadline) await sleep(50);
    expect(b.restarts).toBe(1);
    expect(agent.connected).toBe(true);
    const sub = await subscribe(b.url, statusTopic(device), b.fleet);
    cleanups.push(() => sub.close());
    const birth = await sub.waitFor(() => true, 5_000, 'retained birth after the restart');
    expect(birth.json).toMatchObject({ state: 'online', connectionSeq: agent.connectionSeq });
    expect(log.lines.some((l) => l.level === 'error' && /died; restarting/.test(l.msg ?? ''))).toBe(true);
  }, 40_000);

  it('port already taken: the broker falls back to an ephemeral port and says so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen({ port: 0, host: '127.0.0.1' }, r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const taken = (blocker.address() as net.AddressInfo).port;
    const logger = recordingLogger();
    const b = await broker({ port: taken, logger });
    expect(b.port).not.toBe(taken);
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    expect(logger.lines.some((l) => l.level === 'warn' && /in use/.test(l.msg ?? ''))).toBe(true);
    await connect(b.url, b.device);
  });

  it('close() disconnects clients, ends the process and frees the port, and may be called twice', async () => {
    const b = await broker();
    const c = await connect(b.url, b.device);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const pid = b.pid!;
    await Promise.all([b.close(), b.close()]);
    await closed;
    expect(() => process.kill(pid, 0)).toThrow();
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen({ port: b.port, host: '127.0.0.1' }, resolve);
    });
    await new Promise<void>((r) => again.close(() => r()));
  });

  it('retained birth and last will work on the embedded broker (npm start without MQTT_URL)', async () => {
    const b = await broker();
    const proxy = await startTcpProxy(b.port);
    cleanups.push(() => proxy.close());
    const agent = await demoAgent(b, proxy.url, 5_000);
    await agent.start();
    expect(agent.connected).toBe(true);
    const seq = agent.connectionSeq;
    const sub = await subscribe(b.url, statusTopic(device), b.fleet);
    cleanups.push(() => sub.close());
    const birth = await sub.waitFor(() => true, 5_000, 'retained birth');
    expect(birth.retain).toBe(true);
    expect(birth.json).toMatchObject({ state: 'online', connectionSeq: seq });
    proxy.cutAll();
    const will = await sub.waitFor((m) => (m.json as { state?: string }).state === 'offline', 5_000, 'will');
    expect(will.json).toMatchObject({ state: 'offline', reason: 'connection-lost', connectionSeq: seq });
  });
});

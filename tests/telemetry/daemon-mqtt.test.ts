/**
 * The whole daemon on a real Mosquitto: it announces itself, reports metrics the fleet accepts,
 * and a daemon killed outright (power cut, OOM kill) is reported offline by its last will.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { subscribe, uniqueId, type Received, type Subscriber } from './support.ts';

const STORE = 'store-daemon-test';

function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function status(m: Received): StatusMessage | undefined {
  const r = parseMessage(m.topic, m.payload);
  return r.ok && r.kind === 'status' ? r.value : undefined;
}

describe('daemon on a real broker', () => {
  let broker: TestBroker;
  let daemon: RunningDaemon | undefined;
  let sub: Subscriber | undefined;
  const deviceId = uniqueId('mirror');

  beforeAll(async () => {
    broker = await startMosquitto();
  }, 20_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await sub?.close();
    await broker?.stop();
  });

  it('daemon killed with SIGKILL: birth and metrics seen, then the retained offline will with its connectionSeq', async () => {
    sub = await subscribe(broker.url, channelFilter('status', { storeId: STORE, deviceId }));
    const metricsSub = await subscribe(broker.url, channelFilter('telemetry', { storeId: STORE, deviceId }));
    try {
      daemon = await startDaemon({
        env: {
          MQTT_URL: broker.url,
          MIRROR_METRICS_INTERVAL_MS: '500',
          MIRROR_STORE_ID: STORE,
          MIRROR_DEVICE_ID: deviceId,
        },
      });

      const birth = await sub.waitFor((m) => status(m)?.state === 'online', 30_000, 'daemon birth');
      const seq = status(birth)!.connectionSeq;
      expect(status(birth)).toMatchObject({ deviceId, storeId: STORE, state: 'online' });

      const metrics = await metricsSub.waitFor(() => true, 15_000, 'daemon metrics');
      const parsed = parseMessage(metrics.topic, metrics.payload);
      if (!parsed.ok) throw new Error(`daemon metrics failed validation: ${parsed.error}`);
      expect(parsed.kind).toBe('metrics');

      // Nothing gets to send a DISCONNECT, exactly as in a power cut.
      const exited = new Promise((r) => daemon!.child.once('exit', r));
      killHard(daemon.child.pid!);
      await exited;

      const will = await sub.waitFor((m) => status(m)?.state === 'offline', 15_000, 'last will after SIGKILL');
      expect(status(will)).toMatchObject({ state: 'offline', reason: 'connection-lost', connectionSeq: seq, deviceId });

      const late = await subscribe(broker.url, channelFilter('status', { storeId: STORE, deviceId }));
      try {
        const retained = await late.waitFor(() => true, 5_000, 'retained status');
        expect(retained.retain).toBe(true);
        expect(status(retained)).toMatchObject({ state: 'offline', connectionSeq: seq });
      } finally {
        await late.close();
      }
    } finally {
      await metricsSub.close();
    }
  }, 90_000);
});

describe('daemon with its embedded broker (npm start without MQTT_URL)', () => {
  it('anonymous clients are refused, a 200 MB publish and a publish burst cost the daemon nothing', async () => {
    const { mkdtemp, readFile } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const net = await import('node:net');
    const mqtt = (await import('mqtt')).default;
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mirror-embedded-'));
    const deviceId = uniqueId('mirror');
    const d = await startDaemon({ env: { MIRROR_STATE_DIR: stateDir, MIRROR_STORE_ID: STORE, MIRROR_DEVICE_ID: deviceId, MIRROR_METRICS_INTERVAL_MS: '500' } });
    const clients: Array<{ end: (force: boolean) => unknown }> = [];
    try {
      const isListening = (l: Record<string, unknown>): boolean => typeof l.url === 'string' && String(l.msg).startsWith('embedded MQTT broker');
      for (let i = 0; i < 600 && !d.logs.some(isListening); i++) await new Promise((r) => setTimeout(r, 50));
      const listening = d.logs.find(isListening);
      const url = String(listening?.url);
      const port = Number(new URL(url).port);
      await expect(mqtt.connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
      const fleet = { username: 'fleet-service', password: (await readFile(path.join(stateDir, 'embedded-broker.fleet-secret'), 'utf8')).trim() };
      const metrics = await subscribe(url, channelFilter('telemetry', { storeId: STORE, deviceId }), fleet);
      clients.push({ end: () => metrics.close() });
      await metrics.waitFor(() => true, 30_000, 'metrics through the embedded broker');

      const big = net.connect(port, '127.0.0.1');
      big.on('error', () => {});
      big.write(Buffer.from([0x30, 0x80, 0x80, 0xe4, 0x5f])); // PUBLISH announcing 200,000,000 bytes
      big.write(Buffer.alloc(1024 * 1024));
      await new Promise<void>((r) => big.once('close', () => r()));

      const burst = await Promise.all(Array.from({ length: 4 }, () => mqtt.connectAsync(url, { reconnectPeriod: 0, ...fleet })));
      clients.push(...burst);
      for (let i = 0; i < 2_000; i++) for (const c of burst) c.publish(`mirror/v1/${STORE}/ghost${i % 20}/cmd/x`, Buffer.alloc(64), { qos: (i % 2) as 0 | 1 });
      await Promise.all(burst.map((c) => c.publishAsync(`mirror/v1/${STORE}/ghost/cmd/done`, Buffer.alloc(1), { qos: 1 })));

      const before = metrics.messages.length;
      await metrics.waitFor((_m) => metrics.messages.length > before, 30_000, 'metrics after the burst');
      expect(d.child.exitCode).toBeNull();
      const health = await fetch(`${d.url}/healthz`);
      expect(health.status).toBeLessThan(500);
    } finally {
      for (const c of clients) await c.end(true);
      await d.stop('SIGKILL');
    }
  }, 120_000);
});

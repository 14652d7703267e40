/**
 * The whole daemon on a real Mosquitto: it announces itself, reports metrics the fleet accepts,
 * and a daemon killed outright (power cut, OOM kill) is reported offline by its last will.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { startMosquitto, type TestBroker } from '../helpers/mosquitto.ts';
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

/**
 * The degradation ladder reaches the fleet and /healthz on the real daemon and a real Mosquitto: a
 * camera that is not there is listed in the metrics message the fleet accepts, and a broker that
 * goes away is listed in /healthz as the telemetry step (the outbox takes over meanwhile).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage, type MetricsMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { until } from '../helpers/until.ts';
import { subscribe, uniqueId, type Subscriber } from '../telemetry/support.ts';

const STORE = 'store-degraded-test';

interface Health {
  status: string;
  degraded: Array<{ component: string; reason: string; since: string }>;
}

describe('degradation ladder on the wire', () => {
  let broker: TestBroker;
  let daemon: RunningDaemon | undefined;
  let metricsSub: Subscriber | undefined;
  const deviceId = uniqueId('mirror');

  beforeAll(async () => {
    broker = await startMosquitto();
  }, 20_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await metricsSub?.close();
    await broker?.stop();
  });

  it('camera missing: listed in the metrics message; broker gone: listed in /healthz as telemetry', async () => {
    metricsSub = await subscribe(broker.url, channelFilter('telemetry', { storeId: STORE, deviceId }));
    daemon = await startDaemon({
      env: {
        MQTT_URL: broker.url,
        MIRROR_METRICS_INTERVAL_MS: '500',
        MIRROR_STORE_ID: STORE,
        MIRROR_DEVICE_ID: deviceId,
        // A camera that is not plugged in: the mirror runs, shows its service message, and says so.
        SOURCE: 'v4l2:/dev/video97',
      },
      timeoutMs: 120_000,
    });

    const withCamera = await metricsSub.waitFor(
      (m) => {
        const r = parseMessage(m.topic, m.payload);
        return r.ok && r.kind === 'metrics' && (r.value as MetricsMessage).degraded?.some((d) => d.component === 'camera') === true;
      },
      30_000,
      'a metrics message listing the camera as degraded',
    );
    const parsed = parseMessage(withCamera.topic, withCamera.payload);
    if (!parsed.ok || parsed.kind !== 'metrics') throw new Error('metrics message did not validate');
    const camera = (parsed.value as MetricsMessage).degraded!.find((d) => d.component === 'camera')!;
    expect(camera.reason.length).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(camera.since))).toBe(false);

    const healthz = async () => (await (await fetch(`${daemon!.url}/healthz`)).json()) as Health;
    expect((await healthz()).degraded.some((d) => d.component === 'telemetry')).toBe(false);

    await broker.stop();
    const health = await until(
      async () => {
        const h = await healthz();
        return h.degraded.some((d) => d.component === 'telemetry') ? h : undefined;
      },
      { timeoutMs: 30_000, what: 'the telemetry step in /healthz after the broker stopped' },
    );
    expect(health.status).toBe('degraded');
    expect(health.degraded.find((d) => d.component === 'telemetry')!.reason).toContain('broker-unreachable');
  }, 180_000);
});

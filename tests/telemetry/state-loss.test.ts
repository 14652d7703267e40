/**
 * A mirror whose state dir is lost (SD card swapped, dir wiped) must come back online at the
 * fleet: its connectionSeq restarts above every number the old dir reached, while a late will of
 * the old connection is still ignored. Real agents, real Mosquitto, the real fleet service (SQLite).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTION_SEQ_FILE } from '../../device/telemetry/connection-seq.ts';
import { createTelemetryAgent, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { startFleet, until } from '../fleet/support.ts';
import { startMosquitto } from '../../fleet/sim/broker.ts';
import { recordingLogger, sleep, startTcpProxy, tempDir, uniqueId } from './support.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('state dir lost', () => {
  it('lose the state dir and restart: the fleet shows the mirror online, and the old connection\'s late will is ignored', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const fleet = await startFleet('sqlite', { mqtt: { url: broker.url, clientId: uniqueId('fleet'), cleanSession: true } }, { mqtt: true });
    cleanups.push(() => fleet.stop());
    const storeId = 'store-lost';
    const deviceId = uniqueId('mirror');
    const device = async (): Promise<{ state: string; connectionSeq: number } | undefined> => {
      const r = await fleet.api('GET', `/api/devices/${storeId}/${deviceId}`);
      return r.status === 200 ? r.body.device : undefined;
    };
    const agent = (stateDir: string, url: string, clientId?: string): TelemetryAgent => {
      const a = createTelemetryAgent({
        url,
        storeId,
        deviceId,
        firmwareVersion: '1',
        intervalMs: 60_000,
        stateDir,
        snapshot: () => ({ fps: 0, latencyP50Ms: 0, latencyP95Ms: 0, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
        logger: recordingLogger(),
        systemMetrics: false,
        reconnect: { initialMs: 60_000, maxMs: 60_000 },
        startTimeoutMs: 10_000,
        ...(clientId === undefined ? {} : { clientId }),
      });
      cleanups.push(() => a.stop());
      return a;
    };

    // The old life: a mirror that has connected 41 times; its connection hangs on (half-open).
    const oldDir = await tempDir();
    cleanups.push(() => oldDir.remove());
    await writeFile(path.join(oldDir.dir, CONNECTION_SEQ_FILE), '41\n');
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const old = agent(oldDir.dir, proxy.url, 'old-connection');
    await old.start();
    expect(old.connectionSeq).toBe(42);
    await until(async () => (await device())?.connectionSeq === 42);

    // The new life: the daemon restarts on an empty state dir.
    const newDir = await tempDir();
    cleanups.push(() => newDir.remove());
    const fresh = agent(path.join(newDir.dir, 'state'), broker.url);
    await fresh.start();
    expect(fresh.connected).toBe(true);
    const online = await until(async () => {
      const d = await device();
      return d?.connectionSeq === fresh.connectionSeq && d;
    });
    expect(online.state).toBe('online');

    // The old connection finally dies: the broker publishes its will, which must change nothing.
    proxy.setDown(true);
    await until(() => !old.connected);
    await sleep(1_000);
    expect(await device()).toMatchObject({ state: 'online', connectionSeq: fresh.connectionSeq });
  }, 60_000);
});

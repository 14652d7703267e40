/**
 * The whole daemon on a real Mosquitto: it announces itself, reports metrics the fleet accepts,
 * and a daemon killed outright (power cut, OOM kill) is reported offline by its last will.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { startMosquitto, type TestBroker } from '../helpers/mosquitto.ts';
import { subscribe, uniqueId, type Received, type Subscriber } from './support.ts';

const STORE = 'store-daemon-test';

/**
 * The pid that runs device/main.ts. The helper launches it through the tsx CLI, which runs the
 * script in a child of its own; SIGKILL cannot be relayed, so killing the launcher alone would
 * leave the daemon running. Linux lists a process's children in /proc.
 */
function daemonPid(launcher: ChildProcess): number {
  const pid = launcher.pid!;
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length === 1) return Number(children[0]);
  } catch {
    // No /proc: the launcher is taken to be the daemon itself.
  }
  return pid;
}

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
  let mainPid: number | undefined;
  const deviceId = uniqueId('mirror');

  beforeAll(async () => {
    broker = await startMosquitto();
  }, 20_000);

  afterAll(async () => {
    if (mainPid !== undefined) killHard(mainPid);
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

      // Kill the process that runs main.ts, not only the launcher: nothing gets to send a
      // DISCONNECT, exactly as in a power cut.
      mainPid = daemonPid(daemon.child);
      const launcherExited = new Promise((r) => daemon!.child.once('exit', r));
      killHard(mainPid);
      killHard(daemon.child.pid!);
      await launcherExited;

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

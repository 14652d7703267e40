/**
 * 5,000 bad offers at once on the real daemon and a real Mosquitto (issue 13, item 9): the mirror
 * keeps processing and sending frames, the refusals reach the fleet as at most 10 single reports
 * plus one summary (not one outbox write each), and a valid offer afterwards is still handled.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateTopic, channelFilter } from '../../fleet/protocol/topics.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { collectFrames } from '../helpers/frames.ts';
import { subscribe, uniqueId, type Subscriber } from '../telemetry/support.ts';
import { generateSigningKey, makeArtifact, startFleetDouble, type FleetDouble } from './fleet-double.ts';
import { tinyBundle } from './agent-rig.ts';

const STORE = 'store-flood';
const FLOOD = 5000;

async function processedFrames(d: RunningDaemon): Promise<number> {
  return ((await (await fetch(`${d.url}/healthz`)).json()) as { processedFrames: number }).processedFrames;
}

describe('a flood of bad offers on the real daemon', { timeout: 180_000 }, () => {
  let broker: TestBroker;
  let daemon: RunningDaemon;
  let fleet: FleetDouble;
  let statusSub: Subscriber;
  const key = generateSigningKey('fleet-flood');
  const deviceId = uniqueId('mirror');
  const addr = { storeId: STORE, deviceId };

  beforeAll(async () => {
    broker = await startMosquitto();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-flood-'));
    const config = path.join(dir, 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        stateDir: path.join(dir, 'state'),
        mqtt: { url: broker.url, storeId: STORE, deviceId, metricsIntervalMs: 1000 },
        updates: { publicKeys: { [key.keyId]: key.publicKeyBase64 }, chunkTimeoutMs: 60_000 },
      }),
    );
    fleet = await startFleetDouble(broker.url, addr);
    statusSub = await subscribe(broker.url, channelFilter('status', addr));
    daemon = await startDaemon({ args: ['--config', config] });
    await statusSub.waitFor((m) => (m.json as { state?: string })?.state === 'online', 60_000, 'birth');
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    await fleet?.close();
    await statusSub?.close();
    await broker?.stop();
  });

  it('frames keep flowing, at most 10 refusals plus one summary are published, and a valid offer afterwards is handled', async () => {
    const bytes = tinyBundle('9.0.0');
    const forged = makeArtifact(bytes, { id: 'mesh-forged', version: '9.0.0', key: generateSigningKey('fleet-flood') });
    const attacker = await mqtt.connectAsync(broker.url, { clientId: uniqueId('attacker'), protocolVersion: 4 });
    const before = await processedFrames(daemon);
    const framesDuringFlood = collectFrames(daemon.url, 20, { timeoutMs: 90_000 });
    const topic = updateTopic(addr, 'offer');
    for (let i = 0; i < FLOOD; i++) {
      const offer = { v: 1, jobId: `flood-${i}`, rolloutId: 'r-flood', artifact: forged, transfer: { type: 'mqtt', chunkSize: 32 * 1024, chunks: 1 }, watchSeconds: 60, ts: Date.now() };
      attacker.publish(topic, JSON.stringify(offer), { qos: 0 });
    }
    await attacker.endAsync();

    // The agent's queue is serial: a valid offer sent after the flood is answered after every bad one.
    const good = makeArtifact(bytes, { id: 'mesh-good', version: '9.0.0', key });
    await fleet.offer({ jobId: 'job-good', artifact: good, bytes, serve: () => false });
    await fleet.waitForState((s) => s.jobId === 'job-good' && s.state === 'downloading', 120_000, 'the valid offer downloading');
    expect((await framesDuringFlood).length).toBe(20);

    // The held-back refusals arrive once, as a summary, when the 10 s window ends.
    const summary = await fleet.waitForState((s) => s.jobId.startsWith('flood-') && (s.detail ?? '').includes('not reported one by one'), 60_000, 'the summary');
    const suppressed = Number(/bad-signature: (\d+)/.exec(summary.detail ?? '')?.[1]);
    const reported = fleet.states.filter((s) => s.jobId.startsWith('flood-'));
    expect(reported.length).toBeLessThanOrEqual(11);
    expect(reported.every((s) => s.state === 'rejected' && s.reason === 'bad-signature')).toBe(true);
    expect(suppressed).toBeGreaterThan(1000);
    const after = await processedFrames(daemon);
    expect(after).toBeGreaterThan(before + 20);
    console.log(`[flood] ${FLOOD} bad offers: ${reported.length} state reports (${suppressed} summarised), ${after - before} frames processed meanwhile`);

    await fleet.cancel('job-good', 'abort');
    await fleet.waitForState((s) => s.jobId === 'job-good' && s.state === 'failed' && s.reason === 'cancelled', 30_000, 'the valid job cancelled');
  });
});

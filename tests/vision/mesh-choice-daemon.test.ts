/**
 * The auto mesh choice on the real daemon (device/main.ts), restarted on one state dir: the first
 * start times both meshes, a restart serves the same mesh from the cached timings (/healthz says
 * so, with the first start's numbers), and a face-mesh update committed through the signed update
 * path (real Mosquitto, the fleet stand-in the update tests use) is re-timed at the next start.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleFromRegistry } from '../../models/bundle.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import type { MeshChoice } from '../../device/vision/mesh-choice.ts';
import type { ModelChoice } from '../../device/vision/runtime/select.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { uniqueId } from '../telemetry/support.ts';
import { generateSigningKey, makeArtifact, startFleetDouble, type FleetDouble } from '../update/fleet-double.ts';

interface Health {
  mesh: MeshChoice;
  models: Record<string, string>;
  backendChoices: Record<string, ModelChoice>;
}

const health = async (d: RunningDaemon): Promise<Health> => (await (await fetch(`${d.url}/healthz`)).json()) as Health;

describe('auto mesh choice on the real daemon, across restarts and an update', { timeout: 600_000 }, () => {
  const STORE = 'store-mesh-cache';
  const addr = { storeId: STORE, deviceId: uniqueId('mirror') };
  const key = generateSigningKey('mesh-cache-test');
  let stateDir: string;
  let broker: TestBroker;
  let fleet: FleetDouble;
  let daemon: RunningDaemon | undefined;
  let config: string;
  const start = async () => (daemon = await startDaemon({ args: ['--config', config], env: { MIRROR_STATE_DIR: stateDir } }));

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = await startFleetDouble(broker.url, addr);
  }, 30_000);

  /** A fresh device: its own state dir (a retried attempt must not find the first attempt's cache). */
  function freshDevice(): void {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'mesh-cache-daemon-'));
    config = path.join(stateDir, 'mirror.json');
    writeFileSync(
      config,
      JSON.stringify({
        stateDir,
        // The attention mesh costs more than the plain one (tests/vision/mesh-choice.test.ts): past 1x, plain serves.
        vision: { mesh: 'auto', attentionMaxCost: 1 },
        mqtt: { url: broker.url, ...addr, metricsIntervalMs: 500 },
        updates: { publicKeys: { [key.keyId]: key.publicKeyBase64 }, chunkTimeoutMs: 2000, minFpsRatio: 0.2 },
      }),
    );
  }

  // A failed attempt's daemon must not live on beside the retry's (same mirror id: it answers "busy").
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
  });

  afterAll(async () => {
    await fleet?.close();
    await broker?.stop();
  });

  it('first start times, a restart serves from the cache', async () => {
    freshDevice();
    const first = (await health(await start())).mesh;
    expect(first).toMatchObject({ mode: 'auto', serving: 'face-mesh', source: 'timed' });
    await daemon!.stop();

    const restarted = (await health(await start())).mesh;
    expect(restarted).toEqual({ ...first, source: 'cache' });
    await daemon!.stop();
  });

  // The update ships the ONNX model, as a fleet does for mirrors that serve ONNX Runtime: the restart
  // runs it on ONNX Runtime at float32 (the bundled model's fp16/int8 are another model's variants),
  // so it costs what the bundled float32 costs and the attention mesh, dearer, stays out under 1x.
  // (A TF.js-graph update runs on TF.js WASM at ~3.5x the CPU of ONNX; then the attention mesh is
  // the cheaper one and auto rightly serves it.)
  it('a committed mesh update is served and re-timed after the restart', async () => {
    freshDevice();
    const first = (await health(await start())).mesh;

    // Unique per attempt: the fleet stand-in keeps every state it heard, and a retry must not find
    // the first attempt's "committed" before this device has the update.
    const jobId = uniqueId('job-mesh-cache');
    const version = `9.0.0-${jobId}`;
    const bytes = await bundleFromRegistry('face-mesh', version, undefined, 'onnx');
    await fleet.offerUntilHeard({ jobId, artifact: makeArtifact(bytes, { id: 'mesh-cache', version, key }), bytes, watchSeconds: 1 }, 30_000);
    const done = await fleet.waitForState((s) => s.jobId === jobId && (s.state === 'committed' || s.state === 'failed'), 300_000).catch((err: Error) => {
      console.log(daemon!.logs.filter((l) => String(l.msg).includes('update')).map((l) => JSON.stringify(l)).join('\n'));
      throw err;
    });
    expect(done.state).toBe('committed');
    await daemon!.stop();

    const updated = await health(await start());
    expect(updated.models['face-mesh']).toBe(version);
    expect(updated.mesh.serving).toBe('face-mesh');
    expect(updated.backendChoices['face-mesh']).toMatchObject({ backend: 'onnx-cpu', variant: 'fp32' });
    expect(updated.mesh.source).toBe('timed');
    expect(updated.mesh.decidedAt! > first.decidedAt!).toBe(true);
    expect(updated.mesh.cost).not.toEqual(first.cost);
  });
});

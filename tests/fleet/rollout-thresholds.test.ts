/**
 * The abort rule's edges, on the real rollout engine over the real SQLite store (offers captured
 * where they would go to the broker): a failure rate exactly at the threshold does not pause a
 * rollout (the rule is "above"); with `minDevicesDone` equal to the wave size the rule waits for
 * the whole wave, then pauses. And the "never offer again" set follows the protocol's one rule.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UpdateReason, UpdateState } from '../../fleet/protocol/update.ts';
import { ArtifactStore } from '../../fleet/service/rollouts/artifacts.ts';
import { RolloutEngine, type RolloutOptions } from '../../fleet/service/rollouts/engine.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openFleetStore } from '../../fleet/service/store/open.ts';
import { until } from './support.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const STORE = 'edge-store';
const ARTIFACT = { id: 'mesh-2', kind: 'model' as const, name: 'face-mesh', version: '2.0.0', size: 1000, sha256: 'a'.repeat(64), signature: 'c2ln', keyId: 'k' };

describe('rollout abort rule at its edges', () => {
  let dir: string;
  let store: FleetStore;
  let engine: RolloutEngine;
  let seq = 1;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-edges-'));
    store = await openFleetStore({ sqlitePath: path.join(dir, 'fleet.db'), databaseUrl: undefined, databaseSchema: undefined });
    engine = new RolloutEngine({
      store,
      artifacts: new ArtifactStore(store, dir, new Map()),
      publish: async () => undefined,
      log: quiet,
      config: { stuckTimeoutS: 600, tickMs: 1000, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 60 },
      downloadSecret: 'x'.repeat(32),
    });
    await store.artifacts.putArtifact({ ...ARTIFACT, file: path.join(dir, 'a.bin'), uploadedBy: 'test', uploadedAt: Date.now() });
  });
  afterEach(async () => {
    await engine.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const online = async (deviceId: string, models: Record<string, string> = { 'face-mesh': '1.0.0' }) => {
    await store.messages.ingestStatus(STORE, { v: 1, state: 'online', deviceId, storeId: STORE, connectionSeq: seq++, ts: Date.now(), firmwareVersion: '1', models }, Date.now());
  };
  const push = async (devices: string[], options: Partial<RolloutOptions>) =>
    engine.create({ artifactId: ARTIFACT.id, selector: { devices: devices.map((d) => `${STORE}/${d}`) }, options: { canaryPercent: 100, ...options } }, 'test');
  const report = async (rolloutId: string, deviceId: string, state: UpdateState['state'], reason?: UpdateReason) => {
    const job = (await store.rollouts.jobs(rolloutId)).find((j) => j.deviceId === deviceId)!;
    const r = await engine.onUpdateState(
      { storeId: STORE, deviceId },
      { v: 1, msgId: randomUUID(), jobId: job.jobId, rolloutId, deviceId, artifactId: ARTIFACT.id, state, ts: Date.now(), ...(reason ? { reason } : {}) },
    );
    expect(r.ok).toBe(true);
  };
  /** Committed and then seen serving the new version: a success. */
  const succeed = async (rolloutId: string, deviceId: string) => {
    await report(rolloutId, deviceId, 'committed');
    await online(deviceId, { 'face-mesh': ARTIFACT.version });
    await engine.onModels({ storeId: STORE, deviceId });
  };
  const status = async (id: string) => (await store.rollouts.getRollout(id))!.status;

  it('a wave failing exactly at the threshold (2 of 4 at 50%) completes: the rule pauses only above it', async () => {
    const devs = ['d1', 'd2', 'd3', 'd4'];
    for (const d of devs) await online(d);
    const r = await push(devs, { failureThreshold: 0.5, minDevicesDone: 4 });
    await report(r.id, 'd1', 'failed', 'health-regressed');
    await report(r.id, 'd2', 'failed', 'health-regressed');
    await succeed(r.id, 'd3');
    await succeed(r.id, 'd4');
    await until(async () => (await status(r.id)) !== 'running' || undefined);
    expect(await status(r.id)).toBe('completed');
  });

  it('one failure more than the threshold allows pauses it (3 of 4 above 50%)', async () => {
    const devs = ['d1', 'd2', 'd3', 'd4'];
    for (const d of devs) await online(d);
    const r = await push(devs, { failureThreshold: 0.5, minDevicesDone: 4 });
    for (const d of ['d1', 'd2', 'd3']) await report(r.id, d, 'failed', 'health-regressed');
    await succeed(r.id, 'd4');
    await until(async () => (await status(r.id)) !== 'running' || undefined);
    expect(await store.rollouts.getRollout(r.id)).toMatchObject({ status: 'paused', statusReason: expect.stringContaining('3 of 4 devices failed') });
  });

  it('minDevicesDone equal to the wave size: no verdict at 3 of 4 done, a pause once the 4th is done', async () => {
    const devs = ['d1', 'd2', 'd3', 'd4'];
    for (const d of devs) await online(d);
    const r = await push(devs, { failureThreshold: 0.2, minDevicesDone: 4 });
    for (const d of ['d1', 'd2', 'd3']) await report(r.id, d, 'failed', 'health-regressed');
    // An evaluation under the engine's lock (after the ones the reports scheduled): three failures
    // of three done is 100%, but only 3 are done.
    await engine.tick();
    expect(await status(r.id)).toBe('running');
    await succeed(r.id, 'd4');
    await until(async () => (await status(r.id)) !== 'running' || undefined);
    expect(await store.rollouts.getRollout(r.id)).toMatchObject({ status: 'paused', statusReason: expect.stringContaining('3 of 4 devices failed') });
  });

  it('never offered again: rolled back, failed as unusable, or refused (not busy); a transient failure or "busy" may retry', async () => {
    const cases: Array<[string, UpdateState['state'], UpdateReason | undefined, boolean]> = [
      ['rolled', 'rolled-back', 'health-regressed', true],
      ['smoke', 'failed', 'smoke-test-failed', true],
      ['badcat', 'failed', 'bad-catalog', true],
      ['refused', 'rejected', 'previously-rolled-back', true],
      ['busy', 'rejected', 'busy', false],
      ['flaky', 'failed', 'transfer-failed', false],
    ];
    for (const [d] of cases) await online(d);
    const r = await push(cases.map(([d]) => d), { failureThreshold: 1, minDevicesDone: 1 });
    for (const [d, state, reason] of cases) await report(r.id, d, state, reason);
    const blocked = await store.rollouts.blockedDevices(ARTIFACT.id);
    expect([...blocked].sort()).toEqual(cases.filter((c) => c[3]).map(([d]) => `${STORE}/${d}`).sort());
  });
});

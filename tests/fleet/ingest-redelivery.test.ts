/**
 * A state report whose handling fails (the store hiccups inside the rollout engine) is not
 * acknowledged; its redelivery must be handled, not dropped as a duplicate.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ingest } from '../../fleet/service/ingest.ts';
import { openFleetStore } from '../../fleet/service/store/open.ts';
import type { RolloutEngine } from '../../fleet/service/rollouts/engine.ts';
import { updateTopic } from '../../fleet/protocol/topics.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('fleet ingest of update states', () => {
  it('engine fails on a state report: the redelivered report is handled, not dropped as a duplicate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleet-redelivery-'));
    const store = await openFleetStore({ sqlitePath: path.join(dir, 'fleet.sqlite'), databaseUrl: undefined, databaseSchema: undefined } as never);
    let calls = 0;
    const engine = {
      onUpdateState: async () => {
        calls++;
        if (calls === 1) throw new Error('database is locked');
        return { ok: true };
      },
    } as unknown as RolloutEngine;
    const ingest = new Ingest(store, engine, quiet as never);
    const topic = updateTopic({ storeId: 's1', deviceId: 'd1' }, 'state');
    const payload = Buffer.from(
      JSON.stringify({ v: 1, msgId: randomUUID(), jobId: 'j1', rolloutId: 'r1', deviceId: 'd1', artifactId: 'a1', state: 'committed', servingVersion: '2', ts: Date.now() }),
    );
    await expect(ingest.handle(topic, payload)).rejects.toThrow(/locked/);
    await ingest.handle(topic, payload); // the broker redelivers the unacknowledged message
    expect(calls).toBe(2);
    expect(ingest.stats().stored.updateStates).toBe(1);
    await ingest.handle(topic, payload); // a true duplicate after success is dropped
    expect(calls).toBe(2);
    expect(ingest.stats().duplicates).toBe(1);
  });
});

/**
 * Power cut at every state, table-driven (Mender's test): persist a job in state X as the agent
 * would have left it, boot (prepareUpdateBoot, then the agent), and check where it ends up.
 * Before the switch a job resumes; after the switch and before the commit it is rolled back to the
 * last committed model; terminal states stay put; anything unknown rolls back.
 * The model host here is a stand-in (the real daemon runs in update-e2e.test.ts).
 * The table runs once per kind of artifact: a face-mesh model bundle, a product catalog (the
 * catalog JSON itself, staged by its host's `stage`, pointer in `<stateDir>/catalog/current.json`)
 * and a colour profile, served by the real document host (device/update/document-host.ts) with
 * the profile's kind (parse, version check, matrix smoke test).
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { UPDATE_STATES } from '../../fleet/protocol/update.ts';
import { STATE_TABLE } from '../../device/update/states.ts';
import type { JobRecord } from '../../device/update/store.ts';
import { generateSigningKey, makeArtifact } from './fleet-double.ts';
import { boot, CATALOG, CHUNK, COLOUR, job, lastState, MODEL, rig, stage, until, writeDownload, type Rig } from './agent-rig.ts';

for (const K of [MODEL, CATALOG, COLOUR]) {
  describe(`power cut at every state (${K.kind}): the boot resumes by the table`, () => {
    const rigs: Rig[] = [];
    const make = async () => {
      const r = await rig(K);
      rigs.push(r);
      return r;
    };
    afterEach(async () => {
      for (const r of rigs.splice(0)) {
        await r.agent?.stop();
        await rm(r.dir, { recursive: true, force: true });
      }
    });

    it('every state has an entry in the table, and every state that may serve the new model rolls back on boot', () => {
      for (const s of UPDATE_STATES) expect(STATE_TABLE[s]).toBeDefined();
      for (const s of ['active', 'watching'] as const) expect(STATE_TABLE[s].onBoot).toBe('rollback');
      for (const s of ['committed', 'rolled-back', 'failed', 'rejected'] as const) expect(STATE_TABLE[s].onBoot).toBe('none');
    });

    it('power cut while announced: the download starts from chunk 0', async () => {
      const r = await make();
      await r.store.saveJob(job(r, 'announced'));
      await boot(r);
      await until(() => r.requests.length > 0, 'a chunk request');
      expect(r.requests[0]).toBe(0);
      expect(lastState(r)?.state).toBe('downloading');
    });

    it('power cut while downloading (a torn chunk on disk): asks for the first chunk not persisted, the torn bytes cut off', async () => {
      const r = await make();
      await writeDownload(r, Buffer.concat([r.bytes.subarray(0, 2 * CHUNK), Buffer.alloc(100, 0xff)]));
      await r.store.saveJob(job(r, 'downloading', { nextChunk: 2, received: 2 * CHUNK }));
      await boot(r);
      await until(() => r.requests.length > 0, 'a chunk request');
      expect(r.requests).toEqual([2]);
      expect((await stat(r.store.artifactFile('job-1'))).size).toBe(2 * CHUNK);
      expect(r.host.servingNow.version).toBe('1.0.0');
    });

    for (const state of ['verifying', 'staged', 'smoke-testing'] as const) {
      it(`power cut while ${state}: nothing was switched, the job carries on to committed`, async () => {
        const r = await make();
        const fields: Partial<JobRecord> = { nextChunk: r.offer.transfer.type === 'mqtt' ? r.offer.transfer.chunks : 0, received: r.bytes.byteLength };
        if (state === 'verifying') await writeDownload(r, r.bytes);
        else fields.stagedDir = await stage(r);
        await r.store.saveJob(job(r, state, fields));
        await boot(r);
        await until(() => lastState(r)?.state === 'committed', 'committed');
        // The old model served through every state before the switch.
        const beforeSwitch = r.states.slice(0, r.states.findIndex((x) => x.state === 'active'));
        expect(beforeSwitch.length).toBeGreaterThan(0);
        for (const x of beforeSwitch) expect(x.servingVersion).toBe('1.0.0');
        expect(r.states.map((x) => x.state).slice(-3)).toEqual(['active', 'watching', 'committed']);
        expect((await r.store.committed(K.name))?.artifactId).toBe(K.newId);
      });
    }

    for (const state of ['active', 'watching'] as const) {
      it(`power cut while ${state}: the last committed model serves, rolled-back is reported, the artifact is refused from then on`, async () => {
        const r = await make();
        await r.store.saveJob(job(r, state, { stagedDir: await stage(r) }));
        await boot(r);
        await r.agent!.idle();
        expect(r.host.servingNow).toMatchObject({ artifactId: K.oldId, version: '1.0.0' });
        expect((await r.store.committed(K.name))?.artifactId).toBe(K.oldId);
        expect(lastState(r)).toMatchObject({ state: 'rolled-back', reason: 'interrupted', servingVersion: '1.0.0' });
        expect(await r.store.rejectedArtifacts()).toContain(K.newId);
      });
    }

    it('power cut between writing the commit pointer and persisting committed: the commit completes (rolled forward)', async () => {
      const r = await make();
      const stagedDir = await stage(r);
      await r.store.setCommitted(K.name, { version: '2.0.0', dir: stagedDir, artifactId: K.newId }, r.old);
      await r.store.saveJob(job(r, 'watching', { stagedDir }));
      await boot(r);
      await r.agent!.idle();
      expect(r.host.servingNow.artifactId).toBe(K.newId);
      expect(lastState(r)?.state).toBe('committed');
    });

    for (const state of ['committed', 'rolled-back', 'failed', 'rejected'] as const) {
      it(`power cut after ${state}: nothing changes, and a state the fleet never heard is reported once`, async () => {
        const r = await make();
        await r.store.saveJob(job(r, state, { reported: 'watching' }));
        await boot(r);
        await r.agent!.idle();
        expect(r.states.map((s) => s.state)).toEqual([state]);
        expect((await r.store.committed(K.name))?.artifactId).toBe(K.oldId);
        expect(r.requests).toEqual([]);
      });
    }

    it('a state this firmware does not know: rolled back to the last committed model', async () => {
      const r = await make();
      await r.store.saveJob(job(r, 'flashing'));
      await boot(r);
      await r.agent!.idle();
      expect(r.host.servingNow.artifactId).toBe(K.oldId);
      expect(lastState(r)).toMatchObject({ state: 'rolled-back', reason: 'unknown-state' });
    });

    it('a corrupt job file: the last committed model serves and the file is set aside', async () => {
      const r = await make();
      await mkdir(r.store.updatesDir, { recursive: true });
      await writeFile(r.store.jobFile, '{"v":1,"offer":');
      await boot(r);
      await r.agent!.idle();
      expect(r.host.servingNow.artifactId).toBe(K.oldId);
      await expect(readFile(r.store.jobFile)).rejects.toThrow();
    });

    it('a job that crashed the daemon in the same state again and again: failed as resume-loop, not retried forever', async () => {
      const r = await make();
      await r.store.saveJob(job(r, 'staged', { stagedDir: await stage(r), resumes: 3 }));
      await boot(r);
      await r.agent!.idle();
      expect(lastState(r)).toMatchObject({ state: 'failed', reason: 'resume-loop' });
      expect(r.host.servingNow.artifactId).toBe(K.oldId);
    });
  });
}

describe('update agent refusals and rollbacks (stand-in host)', () => {
  it('health regresses while watching: rolled back to the previous model, and the same artifact offered again is rejected', async () => {
    const r = await rig();
    try {
      await boot(r);
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify(r.offer)));
      await until(() => r.requests.length > 0, 'first request');
      // Answer chunk requests as the fleet would.
      for (let i = 0; i < (r.offer.transfer.type === 'mqtt' ? r.offer.transfer.chunks : 0); i++) {
        await until(() => r.requests.includes(i), `request ${i}`);
        if (i === 0) r.host.healthy = false;
        r.agent!.handleMessage('chunk', Buffer.from(JSON.stringify({ v: 1, jobId: 'job-1', index: i, data: r.bytes.subarray(i * CHUNK, (i + 1) * CHUNK).toString('base64') })));
      }
      await until(() => ['rolled-back', 'committed'].includes(lastState(r)?.state ?? ''), 'the verdict');
      expect(lastState(r)).toMatchObject({ state: 'rolled-back', reason: 'health-regressed', servingVersion: '1.0.0' });
      expect(r.host.servingNow.artifactId).toBe('mesh-old');
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, jobId: 'job-2' })));
      await until(() => r.states.some((s) => s.jobId === 'job-2'), 'answer to the second offer');
      expect(r.states.find((s) => s.jobId === 'job-2')).toMatchObject({ state: 'rejected', reason: 'previously-rolled-back' });
    } finally {
      await r.agent?.stop();
      await rm(r.dir, { recursive: true, force: true });
    }
  });

  it('an offer signed by a key that is not pinned: rejected (unknown-key) with no chunk requested; malformed offers are ignored', async () => {
    const r = await rig();
    try {
      await boot(r);
      r.agent!.handleMessage('offer', Buffer.from('{"v":1,'));
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, artifact: { ...r.offer.artifact, sha256: 'nothex' } })));
      const stranger = generateSigningKey('not-pinned');
      const artifact = makeArtifact(r.bytes, { id: 'mesh-x', version: '2.0.0', key: stranger });
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, jobId: 'job-x', artifact })));
      await r.agent!.idle();
      expect(r.states).toHaveLength(1);
      expect(r.states[0]).toMatchObject({ jobId: 'job-x', state: 'rejected', reason: 'unknown-key' });
      expect(r.requests).toEqual([]);
    } finally {
      await r.agent?.stop();
      await rm(r.dir, { recursive: true, force: true });
    }
  });

  it('the fleet cancels a download: failed (cancelled), nothing staged, the old model serving', async () => {
    const r = await rig();
    try {
      await boot(r);
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify(r.offer)));
      await until(() => r.requests.length > 0, 'first request');
      r.agent!.handleMessage('cancel', Buffer.from(JSON.stringify({ v: 1, jobId: 'job-1', action: 'abort', ts: Date.now() })));
      await until(() => lastState(r)?.state === 'failed', 'failed');
      expect(lastState(r)?.reason).toBe('cancelled');
      expect(r.host.servingNow.artifactId).toBe('mesh-old');
    } finally {
      await r.agent?.stop();
      await rm(r.dir, { recursive: true, force: true });
    }
  });
});

describe('update transfer over HTTP (stand-in host)', () => {
  it('an offer naming an HTTP URL: downloaded, verified and committed; a URL that answers 404 fails with the status, the old model serving', async () => {
    const http = await import('node:http');
    const r = await rig();
    const server = http.createServer((req, res) => {
      if (req.url === '/bundle') {
        res.writeHead(200, { 'content-length': r.bytes.byteLength });
        res.end(r.bytes);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await boot(r);
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, jobId: 'job-404', transfer: { type: 'http', url: `${base}/missing` } })));
      await until(() => r.states.some((s) => s.jobId === 'job-404' && s.state === 'failed'), 'failed');
      expect(r.states.find((s) => s.jobId === 'job-404' && s.state === 'failed')).toMatchObject({ reason: 'transfer-failed' });
      expect(r.host.servingNow.artifactId).toBe('mesh-old');

      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, jobId: 'job-http', transfer: { type: 'http', url: `${base}/bundle` } })));
      await until(() => r.states.some((s) => s.jobId === 'job-http' && ['committed', 'failed'].includes(s.state)), 'the end of the job');
      expect(r.states.filter((s) => s.jobId === 'job-http').map((s) => s.state)).toEqual([
        'announced',
        'downloading',
        'verifying',
        'staged',
        'smoke-testing',
        'active',
        'watching',
        'committed',
      ]);
      expect((await r.store.committed('face-mesh'))?.artifactId).toBe('mesh-new');
    } finally {
      await r.agent?.stop();
      await new Promise((ok) => server.close(ok));
      await rm(r.dir, { recursive: true, force: true });
    }
  });
});

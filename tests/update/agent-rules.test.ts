/**
 * Fast checks of the agent's rules (each well under 30 s): the watch window's verdicts, the
 * signature check repeated at verifying, and a flood of refused offers that is reported at a
 * bounded rate while a valid offer afterwards is still handled.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { watchVerdict } from '../../device/update/watch.ts';
import { ERROR_CODES, MirrorError } from '../../fleet/protocol/errors.ts';
import { UpdateStageError } from '../../device/update/host.ts';
import { parseBundle } from '../../models/bundle.ts';
import { parseCatalog } from '../../device/tryon/catalog.ts';
import { generateSigningKey, makeArtifact } from './fleet-double.ts';
import { boot, job, lastState, rig, runOffer, writeDownload, type Rig } from './agent-rig.ts';

const limits = { watchSeconds: 10, minFpsRatio: 0.5, maxStageErrorRatio: 0.2 };
const at = (processedFrames: number, stageErrors = 0, fps = 30) => ({ processedFrames, stageErrors, fps });

describe('the watch window (watchVerdict)', () => {
  it('commits at the end of the window when frames flow at the old rate', () => {
    expect(watchVerdict(at(0), at(290), 9_999, limits)).toBeNull();
    expect(watchVerdict(at(0), at(300), 10_000, limits)).toBe('commit');
  });

  it('rolls back as health-regressed when fps fell below minFpsRatio of the baseline', () => {
    expect(watchVerdict(at(0), at(100), 10_000, limits)).toMatchObject({ state: 'rolled-back', reason: 'health-regressed' });
  });

  it('rolls back as not-serving when no frame was processed with the new model', () => {
    expect(watchVerdict(at(500), at(500), 10_000, limits)).toMatchObject({ state: 'rolled-back', reason: 'not-serving' });
  });

  it('rolls back at once, before the window ends, when stage errors pile up', () => {
    expect(watchVerdict(at(0), at(10, 10), 500, limits)).toMatchObject({ state: 'rolled-back', reason: 'health-regressed' });
  });
});

describe('one error catalogue', () => {
  it('bundle, catalog and staging errors are MirrorErrors with a catalogued code', () => {
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return err instanceof MirrorError ? err.code : 'not a MirrorError';
      }
      return undefined;
    };
    expect(codeOf(() => parseBundle(Buffer.from('not a bundle at all')))).toBe('MIRROR_ERR_BUNDLE');
    expect(codeOf(() => parseCatalog(Buffer.from('{')))).toBe('MIRROR_ERR_CATALOG');
    const stage = new UpdateStageError('bad-catalog', 'catalog field "version": wrong');
    expect([stage.code, stage.reason]).toEqual(['MIRROR_ERR_UPDATE_STAGE', 'bad-catalog']);
    for (const code of ['MIRROR_ERR_BUNDLE', 'MIRROR_ERR_CATALOG', 'MIRROR_ERR_UPDATE_STAGE']) expect(ERROR_CODES).toHaveProperty(code);
  });
});

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.agent?.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
});

describe('update agent rules (stand-in host)', () => {
  it('a job resumed at verifying whose artifact signature does not verify: rejected there, nothing staged', async () => {
    const r = await rig();
    rigs.push(r);
    const forged = makeArtifact(r.bytes, { id: 'mesh-new', version: '2.0.0', key: generateSigningKey('k1') });
    r.offer = { ...r.offer, artifact: forged };
    await writeDownload(r, r.bytes);
    await r.store.saveJob(job(r, 'verifying', { nextChunk: 5, received: r.bytes.byteLength }));
    await boot(r);
    await r.agent!.idle();
    expect(lastState(r)).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
    expect((await r.store.committed('face-mesh'))?.artifactId).toBe('mesh-old');
  });

  it('5,000 refused offers: the first 10 reported one by one, the rest once as a summary; a valid offer in the same window is committed', async () => {
    const r = await rig();
    rigs.push(r);
    await boot(r, { reportLimit: { max: 10, windowMs: 600_000 } });
    const stranger = generateSigningKey('k1');
    for (let i = 0; i < 5000; i++) {
      const artifact = makeArtifact(r.bytes, { id: `mesh-bad-${i % 50}`, version: '2.0.0', key: stranger });
      r.agent!.handleMessage('offer', Buffer.from(JSON.stringify({ ...r.offer, jobId: `flood-${i}`, artifact })));
    }
    await r.agent!.idle();
    const flood = () => r.states.filter((s) => s.jobId.startsWith('flood-'));
    expect(flood()).toHaveLength(10);
    expect(flood().every((s) => s.state === 'rejected' && s.reason === 'bad-signature')).toBe(true);
    // Within the same window, a valid offer is still taken and runs to the end.
    expect(await runOffer(r, 'job-good', r.offer.artifact, r.bytes)).toMatchObject({ state: 'committed', servingVersion: '2.0.0' });
    // What was held back is reported once, as a summary (here when the agent stops; else at the window's end).
    await r.agent!.stop();
    expect(flood()).toHaveLength(11);
    expect(flood().at(-1)).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
    expect(flood().at(-1)?.detail).toContain('bad-signature: 4990');
  });
});

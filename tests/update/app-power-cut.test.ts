/**
 * Power cut (kill -9) at every state of an application update, table-driven like power-cut.test.ts:
 * the disk is left as the agent leaves it at that point (job record, `current`, committed pointer),
 * then the release boot check runs as systemd's ExecStartPre does before every start, and the
 * release the daemon would start next is checked. The real daemons run in app-update-e2e.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UPDATE_STATES, type Artifact } from '../../fleet/protocol/update.ts';
import { signFields } from '../../fleet/cli/signing.ts';
import { DEFAULT_APP_BOOT_LIMITS, decideAppBoot, runAppBootCheck } from '../../device/release/boot-check.ts';
import { APP_NAME, RELEASE_FILE, ReleaseLayout } from '../../device/release/layout.ts';
import { StartCount } from '../../device/release/start-count.ts';
import { restartBootAction, STATE_TABLE } from '../../device/update/states.ts';
import { UpdateStore, type JobRecord } from '../../device/update/store.ts';
import { generateSigningKey } from './fleet-double.ts';
import { recordingLogger } from '../telemetry/support.ts';

const key = generateSigningKey('k-app');

interface Rig {
  dir: string;
  store: UpdateStore;
  layout: ReleaseLayout;
  oldDir: string;
  newDir: string;
  artifact: Artifact;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function release(layout: ReleaseLayout, id: string, version: string): Promise<string> {
  const dir = layout.releaseDir(id);
  await mkdir(path.join(dir, 'device'), { recursive: true });
  await writeFile(path.join(dir, 'device', 'main.ts'), `// ${version}\n`);
  await writeFile(path.join(dir, RELEASE_FILE), JSON.stringify({ name: 'app', version, artifactId: id, lockSha256: 'a'.repeat(64) }));
  return dir;
}

async function rig(): Promise<Rig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-app-powercut-'));
  dirs.push(dir);
  const store = new UpdateStore(path.join(dir, 'state'), { releasesDir: path.join(dir, 'releases') });
  const layout = new ReleaseLayout(store.releasesDir);
  const oldDir = await release(layout, 'app-old', '1.0.0');
  const newDir = await release(layout, 'app-new', '2.0.0');
  await layout.switchCurrent(oldDir);
  await store.setCommitted(APP_NAME, { version: '1.0.0', dir: oldDir, artifactId: 'app-old' }, null);
  const fields = { id: 'app-new', kind: 'app' as const, name: APP_NAME, version: '2.0.0', size: 100, sha256: 'b'.repeat(64) };
  const artifact = { ...fields, signature: signFields(fields, key.privateKey), keyId: key.keyId };
  return { dir, store, layout, oldDir, newDir, artifact };
}

function job(r: Rig, state: string, fields: Partial<JobRecord> = {}): JobRecord {
  return {
    v: 1,
    offer: { v: 1, jobId: 'job-app', rolloutId: 'r-app', artifact: r.artifact, transfer: { type: 'mqtt', chunkSize: 1024, chunks: 1 }, watchSeconds: 5, ts: 1 },
    state,
    nextChunk: 0,
    received: 0,
    previous: { version: '1.0.0', dir: r.oldDir, artifactId: 'app-old' },
    stagedDir: r.newDir,
    resumes: 0,
    reported: state,
    updatedAt: 0,
    ...fields,
  };
}

const check = (r: Rig, now = Date.now()) =>
  runAppBootCheck({ stateDir: r.store.stateDir, releasesDir: r.store.releasesDir, logger: recordingLogger(), now });

/** Each state, with where `current` points when the power goes, and what the next boot must start. */
const TABLE: Array<{ state: string; current: 'old' | 'new'; boots: 'old' | 'new'; job: string; reason?: string; why: string }> = [
  { state: 'announced', current: 'old', boots: 'old', job: 'announced', why: 'nothing switched: the old release starts and its agent resumes the download' },
  { state: 'downloading', current: 'old', boots: 'old', job: 'downloading', why: 'nothing switched' },
  { state: 'verifying', current: 'old', boots: 'old', job: 'verifying', why: 'nothing switched' },
  { state: 'staged', current: 'old', boots: 'old', job: 'staged', why: 'nothing switched: the agent smoke-tests the staged release again' },
  { state: 'smoke-testing', current: 'old', boots: 'old', job: 'smoke-testing', why: 'nothing switched' },
  { state: 'active', current: 'old', boots: 'old', job: 'rolled-back', reason: 'interrupted', why: 'persisted active, cut before current moved: the switch never happened' },
  { state: 'active', current: 'new', boots: 'new', job: 'active', why: 'current moved, cut before the restart: the new release starts and is watched' },
  { state: 'watching', current: 'new', boots: 'new', job: 'watching', why: 'cut in the watch window: one more start of the new release, counted' },
  { state: 'watching', current: 'old', boots: 'old', job: 'rolled-back', reason: 'interrupted', why: 'a rollback moved current back, cut before it was recorded' },
  { state: 'committed', current: 'new', boots: 'new', job: 'committed', why: 'committed: the new release is the committed one' },
  { state: 'rolled-back', current: 'old', boots: 'old', job: 'rolled-back', why: 'ended' },
  { state: 'rolled-back', current: 'new', boots: 'old', job: 'rolled-back', why: 'the hook recorded the rollback, cut before current moved back: repaired' },
  { state: 'failed', current: 'old', boots: 'old', job: 'failed', why: 'ended before the switch' },
  { state: 'rejected', current: 'old', boots: 'old', job: 'rejected', why: 'refused before any download' },
  { state: 'flashing', current: 'new', boots: 'old', job: 'rolled-back', reason: 'unknown-state', why: 'a state this firmware does not know rolls back' },
];

describe('application update: power cut at every state, the boot check by the table', () => {
  it('the table covers every state; the states that may run the new release watch it, none before the switch does', () => {
    for (const s of UPDATE_STATES) expect(STATE_TABLE[s].onRestartBoot).toBeDefined();
    for (const s of UPDATE_STATES) {
      if (STATE_TABLE[s].switched && s !== 'committed') expect(STATE_TABLE[s].onRestartBoot).toBe('watch');
      else if (!STATE_TABLE[s].switched) expect(STATE_TABLE[s].onRestartBoot).toBe(STATE_TABLE[s].onBoot);
    }
    expect(restartBootAction('flashing')).toBe('rollback');
    const covered = new Set(TABLE.map((t) => t.state));
    for (const s of UPDATE_STATES) expect(covered.has(s)).toBe(true);
  });

  for (const t of TABLE) {
    it(`power cut while ${t.state} (current on the ${t.current} release): the ${t.boots} release starts — ${t.why}`, async () => {
      const r = await rig();
      if (t.current === 'new') await r.layout.switchCurrent(r.newDir);
      if (t.state === 'committed') await r.store.setCommitted(APP_NAME, { version: '2.0.0', dir: r.newDir, artifactId: 'app-new' }, null);
      await r.store.saveJob(job(r, t.state));
      const result = await check(r);
      expect(result.current).toBe(t.boots === 'new' ? r.newDir : r.oldDir);
      const after = await r.store.loadJob();
      expect(after.ok && after.job?.state).toBe(t.job);
      if (t.reason) {
        expect(after.ok && after.job?.reason).toBe(t.reason);
        expect(await r.store.rejectedArtifacts()).toContain('app-new');
      }
    });
  }

  it('a crash loop: the new release is started maxStarts times, the next start rolls back to the previous release (crash-loop)', async () => {
    const r = await rig();
    await r.layout.switchCurrent(r.newDir);
    await r.store.saveJob(job(r, 'active'));
    const t0 = 1_000_000;
    for (let i = 0; i < DEFAULT_APP_BOOT_LIMITS.maxStarts; i++) {
      const res = await check(r, t0 + i * 5000);
      expect(res.decision).toEqual({ action: 'start', starts: i + 1 });
      expect(res.current).toBe(r.newDir);
    }
    const res = await check(r, t0 + 20_000);
    expect(res.decision).toMatchObject({ action: 'rollback', reason: 'crash-loop' });
    expect(res.current).toBe(r.oldDir);
    expect(res.moved).toBe(true);
    const after = await r.store.loadJob();
    expect(after.ok && after.job).toMatchObject({ state: 'rolled-back', reason: 'crash-loop', reported: 'active' });
    expect(await r.store.rejectedArtifacts()).toContain('app-new');
    // The committed pointer never moved.
    expect((await r.store.committed(APP_NAME))?.artifactId).toBe('app-old');
  });

  it('starts spread wider than the window are not a loop', async () => {
    const r = await rig();
    await r.layout.switchCurrent(r.newDir);
    await r.store.saveJob(job(r, 'watching'));
    for (let i = 0; i < 6; i++) {
      const res = await check(r, 1_000_000 + i * (DEFAULT_APP_BOOT_LIMITS.windowMs / 2 + 1));
      expect(res.decision.action).toBe('start');
    }
  });

  it('the rule alone: the start past maxStarts rolls back, the one at maxStarts does not', () => {
    const limits = { maxStarts: 3, windowMs: 60_000 };
    expect(decideAppBoot({ state: 'watching', currentIsStaged: true, startsInWindow: 3 }, limits)).toEqual({ action: 'start', starts: 3 });
    expect(decideAppBoot({ state: 'watching', currentIsStaged: true, startsInWindow: 4 }, limits)).toMatchObject({ action: 'rollback', reason: 'crash-loop' });
    expect(decideAppBoot({ state: 'staged', currentIsStaged: false, startsInWindow: 0 }, limits)).toEqual({ action: 'none' });
  });

  it('cut after the commit point (committed.json names the new release) while still watching: the commit is completed, not rolled back', async () => {
    const r = await rig();
    await r.layout.switchCurrent(r.newDir);
    await r.store.setCommitted(APP_NAME, { version: '2.0.0', dir: r.newDir, artifactId: 'app-new' }, null);
    await r.store.saveJob(job(r, 'watching'));
    const res = await check(r);
    expect(res.current).toBe(r.newDir);
    const after = await r.store.loadJob();
    expect(after.ok && after.job?.state).toBe('committed');
    expect(await r.store.floor(APP_NAME)).toBe('2.0.0');
  });

  it('a corrupt job record with current on an uncommitted release: the committed release starts', async () => {
    const r = await rig();
    await r.layout.switchCurrent(r.newDir);
    await mkdir(r.store.updatesDir, { recursive: true });
    await writeFile(r.store.jobFile, '{"v":1,"offer":');
    const res = await check(r);
    expect(res.current).toBe(r.oldDir);
    expect(await readFile(r.store.jobFile, 'utf8')).toBe('{"v":1,"offer":');
  });

  it('the start counter belongs to one job: a new job starts counting from zero', async () => {
    const r = await rig();
    const count = new StartCount(r.store.updatesDir);
    expect(await count.record('job-a', 1000, 60_000)).toBe(1);
    expect(await count.record('job-a', 2000, 60_000)).toBe(2);
    expect(await count.record('job-b', 3000, 60_000)).toBe(1);
  });
});

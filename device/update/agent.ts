/**
 * The device's update agent: drives one job at a time through the state table (states.ts),
 * persisting every transition atomically before it is reported (durably, through the outbox) on
 * `update/state`.
 *
 *  - announced: the offer is checked (kind, model, pinned key, Ed25519 signature, a previously
 *    rolled-back artifact) and refused as `rejected` before a byte is downloaded;
 *  - downloading: MQTT pull (request chunk i, receive, fsync, persist nextChunk, request i+1; a
 *    restart resumes from the first chunk not on disk) or an HTTP(S) GET (resumed with Range);
 *  - verifying: size, sha256 and the signature again, then the bundle's own structure and hashes;
 *  - staged: unpacked beside the running model, `<stateDir>/models/<name>/<artifactId>/`;
 *    a catalog (kind "catalog", name "catalog": the artifact is the catalog JSON itself) goes to
 *    `<stateDir>/catalog/<artifactId>/catalog.json` through its host's `stage` (schema errors are
 *    `bad-catalog`, naming the field);
 *  - smoke-testing: the host loads it and runs golden frames (faces found, landmarks inside the
 *    crop, latency within budget);
 *  - active: the host swaps it into the live tracker (the previous one stays loaded);
 *  - watching: fps and stage errors against the pre-switch baseline for `watchSeconds`;
 *  - committed: the pointer names the new model (the commit point), the previous one is released.
 *  Models go to `host`, catalogs to `catalogHost` (device/update/catalog-host.ts): same states,
 *  same persistence, same rules.
 *  Any failure after the switch rolls back: the previous model serves again, the artifact id is
 *  remembered, and the same artifact offered again is `rejected` ("previously-rolled-back").
 *
 * Nothing here throws into the daemon: every step runs on one serial queue that catches and logs.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import {
  blocksArtifact,
  ChunkRequestSchema,
  TERMINAL_UPDATE_STATES,
  UPDATE_SCHEMAS,
  UpdateStateSchema,
  type Artifact,
  type Chunk,
  type UpdateCancel,
  type UpdateOffer,
  type UpdateState,
  type UpdateStateName,
} from '../../fleet/protocol/update.ts';
import { updateTopic, type DeviceAddress } from '../../fleet/protocol/topics.ts';
import { MAX_PAYLOAD_BYTES } from '../../fleet/protocol/schemas.ts';
import { BundleError, parseBundle, writeBundleFiles } from '../../models/bundle.ts';
import type { Logger } from '../core/logger.ts';
import type { OutboxKind } from '../telemetry/outbox.ts';
import { fsyncDir, writeFileDurable } from '../core/fs-atomic.ts';
import { bootAction, canTransition, isUpdateState, MAX_BOOT_RESUMES, STATE_TABLE } from './states.ts';
import { UpdateStore, type JobRecord, type ServingModel } from './store.ts';
import { CATALOG_NAME } from '../tryon/catalog.ts';
import { checkContent, checkSignature } from './verify.ts';

export interface ModelCandidate {
  readonly version: string;
  dispose(): void;
}

export type SmokeResult = { ok: true; candidate: ModelCandidate } | { ok: false; detail: string };

export interface HealthSample {
  /** Totals since the daemon started. */
  processedFrames: number;
  stageErrors: number;
  /** Recent frames per second. */
  fps: number;
}

/** What the agent needs from the daemon: the models it serves and how to swap them. */
export interface ModelHost {
  /** Model names this host can replace (e.g. ["face-mesh"]). */
  readonly updatable: readonly string[];
  /** The model serving `name` now. */
  serving(name: string): ServingModel;
  /** Loads the staged model (hashes, input contract) and runs the golden frames through it. */
  smokeTest(name: string, dir: string): Promise<SmokeResult>;
  /** Swaps the candidate into the live pipeline; the previous model stays loaded until commit. */
  activate(name: string, candidate: ModelCandidate, model: ServingModel): void;
  /** Serves `to` again (the kept previous model, or loads it; dir null = the bundled model). */
  revert(name: string, to: ServingModel | null): Promise<void>;
  /** Releases the previous model after a commit. */
  commit(name: string): void;
  health(): HealthSample;
  /**
   * Writes a verified (size, sha256, signature) artifact file into `dir`, a fresh directory the
   * agent then renames into place. Absent: the file is a model bundle (models/bundle.ts) and is
   * unpacked as a registry directory. Throws a StageError (or any error: `bad-bundle`) when the
   * artifact is intact but unusable; it is then never tried again.
   */
  stage?(artifact: Artifact, file: string, dir: string): Promise<void>;
}

/** An intact artifact whose content is unusable (e.g. a catalog failing its schema). */
export class StageError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'StageError';
  }
}

/** The MQTT side, provided by the telemetry agent. */
export interface UpdateTransport {
  enqueue(kind: OutboxKind, topic: string, payload: Buffer): boolean;
  publishNow(topic: string, payload: Buffer): boolean;
  readonly connected: boolean;
}

export interface UpdateAgentOptions {
  store: UpdateStore;
  host: ModelHost;
  /** Serves kind "catalog" artifacts (name "catalog"); without it catalog offers are `unsupported-kind`. */
  catalogHost?: ModelHost;
  address: DeviceAddress;
  publicKeys: ReadonlyMap<string, KeyObject>;
  transport: UpdateTransport;
  logger: Logger;
  chunkTimeoutMs?: number;
  /** Consecutive unanswered requests for the same chunk before the job fails; default 5. */
  chunkRetries?: number;
  minFpsRatio?: number;
  maxStageErrorRatio?: number;
  /** How often the watch window samples health; default 500 ms. */
  watchTickMs?: number;
  /** For HTTP transfers; default global fetch. */
  fetch?: typeof fetch;
}

export interface UpdateStatusSummary {
  jobId: string;
  artifactId: string;
  state: string;
  reason?: string;
}

export interface UpdateAgent {
  /** Resumes a persisted job by the state table and reports what the fleet has not heard. */
  start(): Promise<void>;
  /** A message on `update/{subtopic}`. */
  handleMessage(subtopic: string, payload: Buffer): void;
  /** After every MQTT (re)connection: ask again for the chunk in flight. */
  onConnect(): void;
  /** Resolves when queued work is done (tests). */
  idle(): Promise<void>;
  status(): UpdateStatusSummary | null;
  stop(): Promise<void>;
}

type Failure = { state: 'failed' | 'rejected' | 'rolled-back'; reason: string; detail?: string };

/**
 * Before any model loads: a job interrupted after the switch (or in a state this firmware does
 * not know) is rolled back on disk, so the daemon boots the last committed model. Returns the
 * directory of the model to serve for `name` (null = the bundled model).
 */
export async function prepareUpdateBoot(store: UpdateStore, name: string, logger: Logger): Promise<ServingModel | null> {
  const loaded = await store.loadJob();
  if (!loaded.ok) {
    logger.error({ error: loaded.error }, 'update: job record unreadable; serving the last committed model');
    await rename(store.jobFile, `${store.jobFile}.corrupt-${Date.now()}`).catch(() => {});
  } else if (loaded.job && loaded.job.offer.artifact.name === name && bootAction(loaded.job.state) === 'rollback') {
    const job = loaded.job;
    const committed = await store.committed(name);
    if (committed?.artifactId === job.offer.artifact.id) {
      // The pointer was written (commit point) but the power went before the state was: roll forward.
      logger.warn({ jobId: job.offer.jobId, state: job.state }, 'update: pointer already names the new model; completing the commit');
      job.state = 'committed';
      job.reason = undefined;
      await store.saveJob(job);
    } else {
      const reason = isUpdateState(job.state) ? 'interrupted' : 'unknown-state';
      logger.warn({ jobId: job.offer.jobId, state: job.state, reason }, 'update: interrupted after the switch; rolling back to the last committed model');
      job.state = 'rolled-back';
      job.reason = reason;
      job.detail = `restart while ${JSON.stringify(job.state)}; the new model was never committed`;
      await store.addRejectedArtifact(job.offer.artifact.id);
      await store.saveJob(job);
    }
  }
  return store.committed(name);
}

export function createUpdateAgent(opts: UpdateAgentOptions): UpdateAgent {
  const { store, logger, transport } = opts;
  /** The host of an artifact (by its kind), or of a name (the catalog's, or the model host's). */
  function hostFor(a: Pick<Artifact, 'kind' | 'name'> | string): ModelHost {
    const catalog = typeof a === 'string' ? a === CATALOG_NAME : a.kind === 'catalog';
    if (!catalog) return opts.host;
    if (!opts.catalogHost) throw new Error('catalog updates are not handled by this firmware');
    return opts.catalogHost;
  }
  const chunkTimeoutMs = opts.chunkTimeoutMs ?? 15_000;
  const chunkRetries = opts.chunkRetries ?? 5;
  const minFpsRatio = opts.minFpsRatio ?? 0.5;
  const maxStageErrorRatio = opts.maxStageErrorRatio ?? 0.2;
  const watchTickMs = opts.watchTickMs ?? 500;
  const doFetch = opts.fetch ?? fetch;
  const topics = { state: updateTopic(opts.address, 'state'), request: updateTopic(opts.address, 'request') };

  let job: JobRecord | null = null;
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  let chunkTimer: NodeJS.Timeout | undefined;
  let chunkTries = 0;
  let watchTimer: NodeJS.Timeout | undefined;
  let httpAbort: AbortController | undefined;

  function enqueueWork(what: string, fn: () => Promise<void>): Promise<void> {
    queue = queue.then(async () => {
      if (stopped) return;
      try {
        await fn();
      } catch (err) {
        logger.error({ what, err: (err as Error).stack ?? String(err) }, 'update: step failed');
        if (job && !TERMINAL_UPDATE_STATES.has(job.state as UpdateStateName)) {
          const switched = isUpdateState(job.state) && STATE_TABLE[job.state].switched;
          await finish(
            switched
              ? { state: 'rolled-back', reason: 'internal-error', detail: (err as Error).message }
              : { state: 'failed', reason: 'internal-error', detail: (err as Error).message },
          ).catch((e: unknown) => logger.error({ err: String(e) }, 'update: could not record the failure'));
        }
      }
    });
    return queue;
  }

  function report(j: JobRecord, extra: { reason?: string; detail?: string; state?: string } = {}): void {
    const state = (extra.state ?? j.state) as UpdateStateName;
    const reason = extra.reason ?? (TERMINAL_UPDATE_STATES.has(state) ? j.reason : undefined);
    const detail = extra.detail ?? (TERMINAL_UPDATE_STATES.has(state) ? j.detail : undefined);
    const msg: UpdateState = {
      v: 1,
      msgId: randomUUID(),
      jobId: j.offer.jobId,
      rolloutId: j.offer.rolloutId,
      deviceId: opts.address.deviceId,
      artifactId: j.offer.artifact.id,
      state,
      ...(reason ? { reason: reason.slice(0, 256) } : {}),
      ...(detail ? { detail: detail.slice(0, 512) } : {}),
      ...(state === 'downloading' ? { received: j.received } : {}),
      ...servingVersionOf(j.offer.artifact.name),
      ts: Date.now(),
    };
    const parsed = UpdateStateSchema.safeParse(msg);
    if (!parsed.success) {
      logger.error({ issue: parsed.error.issues[0]?.message }, 'update: state message failed validation');
      return;
    }
    transport.enqueue('update', topics.state, Buffer.from(JSON.stringify(parsed.data)));
  }

  function servingVersionOf(name: string): { servingVersion?: string } {
    try {
      return { servingVersion: hostFor(name).serving(name).version.slice(0, 64) };
    } catch {
      return {};
    }
  }

  async function transition(to: UpdateStateName, fields: Partial<JobRecord> = {}): Promise<void> {
    const j = job!;
    if (isUpdateState(j.state) && !canTransition(j.state, to)) throw new Error(`illegal transition ${j.state} → ${to}`);
    logger.info({ jobId: j.offer.jobId, artifactId: j.offer.artifact.id, from: j.state, to, ...(fields.reason ? { reason: fields.reason } : {}) }, 'update: transition');
    Object.assign(j, fields, { state: to, resumes: 0 });
    await store.saveJob(j);
    report(j);
    j.reported = to;
    await store.saveJob(j);
  }

  function clearTimers(): void {
    clearTimeout(chunkTimer);
    chunkTimer = undefined;
    clearInterval(watchTimer);
    watchTimer = undefined;
    httpAbort?.abort();
    httpAbort = undefined;
  }

  /** Ends the job: failed/rejected before the switch, rolled-back after it. */
  async function finish(f: Failure): Promise<void> {
    const j = job!;
    clearTimers();
    const name = j.offer.artifact.name;
    if (f.state === 'rolled-back') {
      await hostFor(j.offer.artifact).revert(name, j.previous);
      const committed = await store.committed(name);
      if ((committed?.artifactId ?? null) !== (j.previous?.artifactId ?? null)) {
        await store.setCommitted(name, j.previous, null);
      }
    }
    if (blocksArtifact(f)) await store.addRejectedArtifact(j.offer.artifact.id);
    logger.warn({ jobId: j.offer.jobId, artifactId: j.offer.artifact.id, state: f.state, reason: f.reason, detail: f.detail }, 'update: job ended without the new model');
    await transition(f.state, { reason: f.reason, ...(f.detail ? { detail: f.detail } : {}) });
    await store.clearJobFiles(j.offer.jobId);
    if (j.stagedDir && (await store.committed(name))?.dir !== j.stagedDir) await rm(j.stagedDir, { recursive: true, force: true });
  }

  // ---- offer ----------------------------------------------------------------------------------

  function rejectStateless(offer: UpdateOffer, reason: string, detail: string): void {
    logger.warn({ jobId: offer.jobId, artifactId: offer.artifact.id, reason, detail }, 'update: offer rejected');
    const tmp: JobRecord = { v: 1, offer, state: 'rejected', reason, detail, nextChunk: 0, received: 0, previous: null, resumes: 0, updatedAt: Date.now() };
    report(tmp);
  }

  async function onOffer(offer: UpdateOffer): Promise<void> {
    const a = offer.artifact;
    if (job && !TERMINAL_UPDATE_STATES.has(job.state as UpdateStateName)) {
      if (job.offer.jobId === offer.jobId) {
        // A repeated offer (QoS 1 redelivery, or the fleet nudging a stuck device): carry on.
        if (job.state === 'downloading') requestChunk(true);
        else report(job);
        return;
      }
      rejectStateless(offer, 'busy', `job ${job.offer.jobId} is ${job.state}`);
      return;
    }
    if (job && job.offer.jobId === offer.jobId) {
      report(job); // already finished: say how it ended
      return;
    }
    if (a.kind === 'catalog' && !opts.catalogHost) return rejectStateless(offer, 'unsupported-kind', `kind "${a.kind}" is not handled by this firmware`);
    if (a.kind === 'catalog' && a.name !== CATALOG_NAME) return rejectStateless(offer, 'bad-offer', `a catalog artifact is named "${CATALOG_NAME}", not "${a.name}"`);
    const host = hostFor(a);
    if (!host.updatable.includes(a.name)) return rejectStateless(offer, 'unsupported-model', `model "${a.name}" cannot be updated here`);
    if ((await store.rejectedArtifacts()).includes(a.id)) {
      return rejectStateless(offer, 'previously-rolled-back', `artifact ${a.id} was rolled back or failed on this device`);
    }
    if (host.serving(a.name).artifactId === a.id) return rejectStateless(offer, 'already-serving', `artifact ${a.id} is serving`);
    const sig = checkSignature(a, opts.publicKeys);
    if (!sig.ok) return rejectStateless(offer, sig.reason, sig.detail);
    if (offer.transfer.type === 'mqtt' && offer.transfer.chunks !== Math.ceil(a.size / offer.transfer.chunkSize)) {
      return rejectStateless(offer, 'bad-offer', `${offer.transfer.chunks} chunks of ${offer.transfer.chunkSize} bytes cannot hold ${a.size} bytes`);
    }
    const serving = host.serving(a.name);
    job = { v: 1, offer, state: 'announced', nextChunk: 0, received: 0, previous: serving, resumes: 0, updatedAt: Date.now() };
    await store.clearJobFiles(offer.jobId);
    await store.saveJob(job);
    report(job);
    job.reported = 'announced';
    await startDownload();
  }

  // ---- download ----------------------------------------------------------------------------------

  async function startDownload(): Promise<void> {
    const j = job!;
    const file = store.artifactFile(j.offer.jobId);
    await mkdir(path.dirname(file), { recursive: true });
    // Everything past what the record says is on disk (a chunk torn by a power cut) goes.
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0) await writeFileDurable(file, Buffer.alloc(0));
    else if (size !== j.received) await truncate(file, j.received);
    if (j.state !== 'downloading') await transition('downloading');
    else report(j);
    if (j.offer.transfer.type === 'mqtt') {
      chunkTries = 0;
      if (j.nextChunk >= j.offer.transfer.chunks) await verify();
      else requestChunk(false);
    } else {
      void enqueueWork('http download', () => httpDownload(j.offer.transfer.type === 'http' ? j.offer.transfer.url : ''));
    }
  }

  function requestChunk(again: boolean): void {
    const j = job;
    if (!j || j.state !== 'downloading' || j.offer.transfer.type !== 'mqtt' || stopped) return;
    clearTimeout(chunkTimer);
    const req = ChunkRequestSchema.parse({ v: 1, jobId: j.offer.jobId, deviceId: opts.address.deviceId, index: j.nextChunk, ts: Date.now() });
    const sent = transport.publishNow(topics.request, Buffer.from(JSON.stringify(req)));
    if (sent && again) chunkTries += 1;
    chunkTimer = setTimeout(() => {
      if (!transport.connected) return requestChunk(false); // an outage is not the fleet's silence
      if (chunkTries >= chunkRetries) {
        void enqueueWork('chunk timeout', async () => {
          if (job === j && j.state === 'downloading') {
            await finish({ state: 'failed', reason: 'transfer-timeout', detail: `chunk ${j.nextChunk} not received after ${chunkTries + 1} requests` });
          }
        });
        return;
      }
      requestChunk(true);
    }, chunkTimeoutMs);
    chunkTimer.unref();
  }

  async function onChunk(chunk: Chunk): Promise<void> {
    const j = job;
    if (!j || j.offer.jobId !== chunk.jobId || j.state !== 'downloading' || j.offer.transfer.type !== 'mqtt') return;
    if (chunk.index !== j.nextChunk) return; // a duplicate or a stale answer: ignore
    const { chunkSize, chunks } = j.offer.transfer;
    const data = Buffer.from(chunk.data, 'base64');
    const expected = Math.min(chunkSize, j.offer.artifact.size - chunk.index * chunkSize);
    if (data.byteLength !== expected) {
      await finish({
        state: 'failed',
        reason: 'truncated-transfer',
        detail: `chunk ${chunk.index} has ${data.byteLength} bytes, expected ${expected}`,
      });
      return;
    }
    clearTimeout(chunkTimer);
    const fh = await open(store.artifactFile(j.offer.jobId), 'r+');
    try {
      await fh.write(data, 0, data.byteLength, chunk.index * chunkSize);
      await fh.sync();
    } finally {
      await fh.close();
    }
    j.nextChunk = chunk.index + 1;
    j.received = Math.min(j.offer.artifact.size, j.nextChunk * chunkSize);
    await store.saveJob(j);
    chunkTries = 0;
    if (j.nextChunk >= chunks) await verify();
    else requestChunk(false);
  }

  async function httpDownload(url: string): Promise<void> {
    const j = job;
    if (!j || j.state !== 'downloading') return;
    const file = store.artifactFile(j.offer.jobId);
    httpAbort = new AbortController();
    const headers: Record<string, string> = j.received > 0 ? { range: `bytes=${j.received}-` } : {};
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: httpAbort.signal });
    } catch (err) {
      if (stopped) return;
      return finish({ state: 'failed', reason: 'transfer-failed', detail: `GET failed: ${(err as Error).message}` });
    }
    if (res.status === 200 && j.received > 0) {
      await truncate(file, 0);
      j.received = 0;
    } else if (res.status !== 200 && res.status !== 206) {
      return finish({ state: 'failed', reason: 'transfer-failed', detail: `GET answered HTTP ${res.status}` });
    }
    const fh = await open(file, 'r+');
    try {
      if (res.body) {
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (j.received + part.byteLength > j.offer.artifact.size) {
            await fh.close().catch(() => {});
            return finish({ state: 'failed', reason: 'size-mismatch', detail: `more than the declared ${j.offer.artifact.size} bytes` });
          }
          await fh.write(part, 0, part.byteLength, j.received);
          j.received += part.byteLength;
        }
      }
      await fh.sync();
    } catch (err) {
      if (stopped) return;
      return finish({ state: 'failed', reason: 'transfer-failed', detail: (err as Error).message });
    } finally {
      await fh.close().catch(() => {});
    }
    await store.saveJob(j);
    if (j.received < j.offer.artifact.size) {
      return finish({ state: 'failed', reason: 'truncated-transfer', detail: `got ${j.received} of ${j.offer.artifact.size} bytes` });
    }
    await verify();
  }

  // ---- verify, stage, smoke test, switch, watch ---------------------------------------------------

  async function verify(): Promise<void> {
    const j = job!;
    clearTimeout(chunkTimer);
    await transition('verifying');
    const a = j.offer.artifact;
    const sig = checkSignature(a, opts.publicKeys);
    if (!sig.ok) return finish({ state: 'rejected', reason: sig.reason, detail: sig.detail });
    const file = store.artifactFile(j.offer.jobId);
    const content = await checkContent(file, a);
    if (!content.ok) return finish({ state: 'failed', reason: content.reason, detail: content.detail });
    const host = hostFor(a);
    if (host.stage) {
      const dir = store.stagedDir(a.name, a.id);
      const tmp = `${dir}.staging`;
      await rm(tmp, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      try {
        await host.stage(a, file, tmp);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        const reason = err instanceof StageError ? err.reason : 'bad-bundle';
        return finish({ state: 'failed', reason, detail: (err as Error).message });
      }
      await fsyncDir(tmp);
      await rename(tmp, dir);
      await fsyncDir(path.dirname(dir));
      await transition('staged', { stagedDir: dir });
      await rm(file, { force: true });
      return smokeTest();
    }
    let bundle;
    try {
      bundle = parseBundle(await readFile(file));
      if (bundle.manifest.name !== a.name) throw new BundleError(`bundle holds model "${bundle.manifest.name}", artifact names "${a.name}"`);
      if (bundle.manifest.version !== a.version) throw new BundleError(`bundle version "${bundle.manifest.version}", artifact says "${a.version}"`);
    } catch (err) {
      // Signed and intact, yet unusable: the artifact itself is bad, never try it again.
      return finish({ state: 'failed', reason: 'bad-bundle', detail: (err as Error).message });
    }
    const dir = store.stagedDir(a.name, a.id);
    const tmp = `${dir}.staging`;
    await rm(tmp, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    await writeBundleFiles(bundle, tmp, writeFileDurable);
    await fsyncDir(path.join(tmp, 'files'));
    await fsyncDir(path.join(tmp, 'manifests'));
    await rename(tmp, dir);
    await fsyncDir(path.dirname(dir));
    await transition('staged', { stagedDir: dir });
    await rm(file, { force: true });
    await smokeTest();
  }

  async function smokeTest(): Promise<void> {
    const j = job!;
    const a = j.offer.artifact;
    if (j.state !== 'smoke-testing') await transition('smoke-testing');
    const host = hostFor(a);
    const result = await host.smokeTest(a.name, j.stagedDir!);
    if (!result.ok) return finish({ state: 'failed', reason: 'smoke-test-failed', detail: result.detail });
    const baseline = host.health();
    await transition('active');
    host.activate(a.name, result.candidate, { version: a.version, dir: j.stagedDir!, artifactId: a.id });
    await transition('watching');
    startWatch(baseline);
  }

  function startWatch(baseline: HealthSample): void {
    const j = job!;
    const startedAt = performance.now();
    const windowMs = j.offer.watchSeconds * 1000;
    let deciding = false;
    const host = hostFor(j.offer.artifact);
    watchTimer = setInterval(() => {
      if (deciding) return;
      const now = host.health();
      const frames = now.processedFrames - baseline.processedFrames;
      const errors = now.stageErrors - baseline.stageErrors;
      const elapsed = performance.now() - startedAt;
      let verdict: Failure | 'commit' | null = null;
      if (errors > Math.max(3, maxStageErrorRatio * (frames + errors))) {
        verdict = { state: 'rolled-back', reason: 'health-regressed', detail: `${errors} stage errors in ${frames + errors} frames` };
      } else if (elapsed >= windowMs) {
        const fps = (frames * 1000) / elapsed;
        if (frames === 0) {
          verdict = { state: 'rolled-back', reason: 'not-serving', detail: `no frame processed in ${j.offer.watchSeconds} s with the new model` };
        } else if (baseline.fps > 0 && fps < minFpsRatio * baseline.fps) {
          verdict = {
            state: 'rolled-back',
            reason: 'health-regressed',
            detail: `fps ${fps.toFixed(1)} < ${minFpsRatio} x ${baseline.fps.toFixed(1)} before the switch`,
          };
        } else {
          verdict = 'commit';
        }
      }
      if (verdict === null) return;
      deciding = true;
      clearInterval(watchTimer);
      watchTimer = undefined;
      const v = verdict;
      void enqueueWork('watch verdict', async () => {
        if (job !== j || j.state !== 'watching') return;
        if (v === 'commit') await commit();
        else await finish(v);
      });
    }, watchTickMs);
    watchTimer.unref();
  }

  async function commit(): Promise<void> {
    const j = job!;
    const a = j.offer.artifact;
    // The commit point: from here on a boot serves the new model.
    await store.setCommitted(a.name, { version: a.version, dir: j.stagedDir!, artifactId: a.id }, j.previous);
    await transition('committed');
    hostFor(a).commit(a.name);
    await store.clearJobFiles(j.offer.jobId);
    await store.pruneStaged(a.name, [j.stagedDir, j.previous?.dir]);
    logger.info({ jobId: j.offer.jobId, artifactId: a.id, version: a.version }, 'update: committed');
  }

  async function onCancel(cancel: UpdateCancel): Promise<void> {
    const j = job;
    if (!j || j.offer.jobId !== cancel.jobId) return;
    const state = j.state as UpdateStateName;
    if (state === 'committed' && cancel.action === 'rollback') {
      return finish({ state: 'rolled-back', reason: 'operator-rollback', detail: 'rollback requested by the fleet' });
    }
    if (TERMINAL_UPDATE_STATES.has(state)) return report(j);
    if (STATE_TABLE[state].switched) {
      return finish({ state: 'rolled-back', reason: 'cancelled', detail: `${cancel.action} requested by the fleet` });
    }
    return finish({ state: 'failed', reason: 'cancelled', detail: `${cancel.action} requested by the fleet` });
  }

  // ---- boot resume --------------------------------------------------------------------------------

  async function resume(): Promise<void> {
    const loaded = await store.loadJob();
    if (!loaded.ok || !loaded.job) return;
    job = loaded.job;
    const j = job;
    const action = bootAction(j.state);
    if (action === 'none' || action === 'rollback') {
      // Rollbacks were applied by prepareUpdateBoot before the models loaded; say how it ended.
      if (j.reported !== j.state) {
        report(j);
        j.reported = j.state;
        await store.saveJob(j);
      }
      return;
    }
    j.resumes += 1;
    await store.saveJob(j);
    logger.info({ jobId: j.offer.jobId, state: j.state, action, resumes: j.resumes }, 'update: resuming an interrupted job');
    if (j.resumes > MAX_BOOT_RESUMES) {
      return finish({ state: 'failed', reason: 'resume-loop', detail: `restarted ${j.resumes} times while ${j.state}` });
    }
    if (action === 'resume-download') return startDownload();
    if (action === 'verify') {
      j.state = 'downloading'; // verifying is entered again, by the table, from a complete download
      return verify();
    }
    if (action === 'smoke-test') {
      if (!j.stagedDir) return finish({ state: 'failed', reason: 'internal-error', detail: 'staged directory missing' });
      // A staged directory is renamed into place whole, so its existence means it is complete.
      const ok = await stat(j.stagedDir).then((s) => s.isDirectory(), () => false);
      if (!ok) return finish({ state: 'failed', reason: 'internal-error', detail: 'staged directory missing' });
      if (j.state === 'smoke-testing') j.state = 'staged';
      return smokeTest();
    }
  }

  // ---- messages -------------------------------------------------------------------------------------

  function handleMessage(subtopic: string, payload: Buffer): void {
    if (subtopic !== 'offer' && subtopic !== 'chunk' && subtopic !== 'cancel') return;
    if (payload.byteLength > MAX_PAYLOAD_BYTES) {
      logger.warn({ subtopic, bytes: payload.byteLength }, 'update: message too large; ignored');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      logger.warn({ subtopic }, 'update: message is not JSON; ignored');
      return;
    }
    const parsed = UPDATE_SCHEMAS[subtopic].safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      logger.warn({ subtopic, field: issue?.path.join('.'), error: issue?.message }, 'update: invalid message; ignored');
      return;
    }
    if (subtopic === 'offer') void enqueueWork('offer', () => onOffer(parsed.data as UpdateOffer));
    else if (subtopic === 'chunk') void enqueueWork('chunk', () => onChunk(parsed.data as Chunk));
    else void enqueueWork('cancel', () => onCancel(parsed.data as UpdateCancel));
  }

  return {
    start: () => enqueueWork('resume', resume),
    handleMessage,
    onConnect() {
      if (job?.state === 'downloading' && job.offer.transfer.type === 'mqtt') requestChunk(false);
    },
    idle: async () => {
      let q: Promise<void>;
      do {
        q = queue;
        await q;
      } while (q !== queue);
    },
    status: () =>
      job && { jobId: job.offer.jobId, artifactId: job.offer.artifact.id, state: job.state, ...(job.reason ? { reason: job.reason } : {}) },
    async stop() {
      stopped = true;
      clearTimers();
      await queue;
    },
  };
}

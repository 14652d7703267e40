/**
 * The update agent on a stand-in host, for the fast suites (power-cut, anti-rollback, HTTP
 * transfer, offer flood): a temp state dir with a committed old model, a signed offer of a new
 * one, an in-memory transport that records every state report and chunk request.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { UpdateOffer, UpdateState } from '../../fleet/protocol/update.ts';
import { buildBundle } from '../../models/bundle.ts';
import type { ModelManifest } from '../../models/registry.ts';
import { createUpdateAgent, type UpdateAgent, type UpdateAgentOptions } from '../../device/update/agent.ts';
import { prepareUpdateBoot } from '../../device/update/boot.ts';
import type { HealthSample, ModelHost } from '../../device/update/host.ts';
import { UpdateStore, type JobRecord, type ServingModel } from '../../device/update/store.ts';
import { parsePublicKey } from '../../fleet/protocol/signing.ts';
import { generateSigningKey, makeArtifact } from './fleet-double.ts';
import { BUNDLED_CATALOG_FILE, parseCatalog } from '../../device/tryon/catalog.ts';
import { recordingLogger } from '../telemetry/support.ts';
import { COLOUR_PROFILE_DOCUMENT, PROFILE_DOCUMENT_FILE } from '../../calibration/colour/document.ts';
import { PROFILE_NAME, type ColourProfile } from '../../calibration/colour/profile.ts';
import { createDocumentHost, type DocumentSlot } from '../../device/update/document-host.ts';
import { until as poll } from '../helpers/until.ts';

export const key = generateSigningKey('k1');
export const CHUNK = 1024;
export const addr = { storeId: 'store-pc', deviceId: 'mirror-pc' };

export function tinyBundle(version: string): Buffer {
  const weights = Buffer.alloc(5000, 7);
  const manifest = {
    name: 'face-mesh',
    task: 'face-landmarks',
    format: 'tfjs-graph',
    version,
    license: 'test',
    files: [{ path: 'w.bin', sha256: createHash('sha256').update(weights).digest('hex') }],
    input: { shape: [1, 192, 192, 3], layout: 'NHWC', range: [0, 1] },
    outputs: { landmarks: 1404, flag: 1 },
    decode: { kind: 'face-mesh', points: 468, landmarks: 'landmarks', score: 'flag', scoreActivation: 'none' },
  } as ModelManifest;
  return buildBundle(manifest, new Map([['w.bin', weights]]));
}

/** The bundled catalog re-versioned (tens of KiB: it spans many 1 KiB chunks). */
export function tinyCatalog(version: string): Buffer {
  const c = JSON.parse(readFileSync(BUNDLED_CATALOG_FILE, 'utf8')) as { version: string };
  return Buffer.from(JSON.stringify({ ...c, version }));
}

/** A valid colour profile (identity matrix, a few KiB: it spans several 1 KiB chunks). */
export function tinyProfile(version: string): Buffer {
  const patches = Array.from({ length: 24 }, (_, i) => ({ name: `patch ${i + 1}`, before: 5, after: 1, clipped: false }));
  const profile: ColourProfile = {
    kind: 'colour-profile',
    v: 1,
    version,
    cameraId: 'rig-camera',
    createdAt: '2026-12-01T20:00:00.000Z',
    method: 'matrix',
    whiteBalance: [1, 1, 1],
    toneExponent: [1, 1, 1],
    matrix: [
      [1.1, -0.05, -0.05],
      [-0.05, 1.1, -0.05],
      [-0.05, -0.05, 1.1],
    ],
    fit: { before: { mean: 5, max: 9 }, after: { mean: 1, max: 2 }, patches },
  };
  return Buffer.from(JSON.stringify(profile, null, 2));
}

/** What differs between the kinds of artifact: name, ids, bytes, and the staged file. */
export interface Kind {
  kind: 'model' | 'catalog' | 'colour-profile';
  name: string;
  oldId: string;
  newId: string;
  bytes: (version: string) => Buffer;
  /** The file a complete staged directory holds. */
  stagedFile: string;
}
export const MODEL: Kind = { kind: 'model', name: 'face-mesh', oldId: 'mesh-old', newId: 'mesh-new', bytes: tinyBundle, stagedFile: path.join('manifests', 'face-mesh.json') };
export const CATALOG: Kind = { kind: 'catalog', name: 'catalog', oldId: 'catalog-old', newId: 'catalog-new', bytes: tinyCatalog, stagedFile: 'catalog.json' };
/** Served by the real document host (device/update/document-host.ts) with the profile's kind. */
export const COLOUR: Kind = { kind: 'colour-profile', name: PROFILE_NAME, oldId: 'colour-old', newId: 'colour-new', bytes: tinyProfile, stagedFile: PROFILE_DOCUMENT_FILE };

export interface Rig {
  k: Kind;
  dir: string;
  store: UpdateStore;
  bytes: Buffer;
  offer: UpdateOffer;
  old: ServingModel;
  states: UpdateState[];
  requests: number[];
  host: ModelHost & { servingNow: ServingModel; healthy: boolean };
  agent?: UpdateAgent;
  /** Bytes per job id the stand-in fleet answers chunk requests from (as the real fleet would). */
  serve: Map<string, Buffer>;
}

export async function rig(k: Kind = MODEL): Promise<Rig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-powercut-'));
  const store = new UpdateStore(dir);
  const old: ServingModel = { version: '1.0.0', dir: store.stagedDir(k.name, k.oldId), artifactId: k.oldId };
  await mkdir(old.dir!, { recursive: true });
  await store.setCommitted(k.name, old, null);
  const bytes = k.bytes('2.0.0');
  const artifact = makeArtifact(bytes, { id: k.newId, name: k.name, kind: k.kind, version: '2.0.0', key });
  const offer: UpdateOffer = {
    v: 1,
    jobId: 'job-1',
    rolloutId: 'r-1',
    artifact,
    transfer: { type: 'mqtt', chunkSize: CHUNK, chunks: Math.ceil(bytes.byteLength / CHUNK) },
    watchSeconds: 1,
    ts: Date.now(),
  };
  return { k, dir, store, bytes, offer, old, states: [], requests: [], host: undefined as never, serve: new Map() };
}

export function fakeHost(r: Rig, serving: ServingModel): Rig['host'] {
  let frames = 0;
  const host = {
    updatable: [r.k.name],
    servingNow: serving,
    healthy: true,
    serving: () => host.servingNow,
    smokeTest: async (_name: string, dir: string) => {
      await stat(path.join(dir, r.k.stagedFile));
      return { ok: true as const, candidate: { version: '2.0.0', dispose() {} } };
    },
    // The catalog host stages the (validated) JSON itself; models are unpacked bundles (no stage).
    ...(r.k.kind === 'catalog'
      ? {
          stage: async (_a: unknown, file: string, dir: string) => {
            const bytes = await readFile(file);
            parseCatalog(bytes);
            await writeFile(path.join(dir, 'catalog.json'), bytes);
          },
        }
      : {}),
    activate: (_n: string, _c: unknown, model: ServingModel) => {
      host.servingNow = model;
    },
    revert: async (_n: string, to: ServingModel | null) => {
      host.servingNow = to ?? { version: 'bundled', dir: null };
    },
    commit: () => {},
    health: (): HealthSample => {
      frames += 30;
      return { processedFrames: frames, stageErrors: host.healthy ? 0 : frames, fps: 30 };
    },
  };
  r.host = host;
  return host;
}

/**
 * The real document host for the colour profile, its slot a plain reference; `servingNow` is what
 * the host says serves, `healthy` drives the health samples like the stand-in's.
 */
export function colourHost(r: Rig, serving: ServingModel, logger: ReturnType<typeof recordingLogger>): Rig['host'] {
  let frames = 0;
  let applied: ColourProfile | null = null;
  const slot: DocumentSlot<ColourProfile, ColourProfile | null> = {
    swap: (next) => {
      const old = applied;
      applied = next;
      return old;
    },
    serve: (p) => p,
    fallback: () => ({ serving: null, model: { version: 'none', dir: null } }),
  };
  const inner = createDocumentHost({
    kind: COLOUR_PROFILE_DOCUMENT,
    slot,
    serving,
    health: (): HealthSample => {
      frames += 30;
      return { processedFrames: frames, stageErrors: host.healthy ? 0 : frames, fps: 30 };
    },
    logger,
  });
  const host: Rig['host'] = {
    ...inner,
    get servingNow() {
      return inner.serving(PROFILE_NAME);
    },
    healthy: true,
  };
  r.host = host;
  return host;
}

export async function boot(r: Rig, tuning: Partial<UpdateAgentOptions> = {}): Promise<void> {
  const logger = recordingLogger();
  const committed = await prepareUpdateBoot(r.store, r.k.name, logger);
  const serving = committed ?? { version: 'bundled', dir: null };
  const host = r.k.kind === 'colour-profile' ? colourHost(r, serving, logger) : fakeHost(r, serving);
  const models = () => fakeHost({ ...r, k: MODEL }, { version: 'bundled', dir: null });
  r.agent = createUpdateAgent({
    store: r.store,
    ...(r.k.kind === 'model' ? { host } : { host: models(), documents: { [r.k.kind]: host } }),
    address: addr,
    publicKeys: new Map([[key.keyId, parsePublicKey(key.publicKeyBase64)]]),
    transport: {
      connected: true,
      enqueue: (_kind, _topic, payload) => {
        r.states.push(JSON.parse(payload.toString()) as UpdateState);
        return true;
      },
      publishNow: (topic, payload) => {
        if (!topic.endsWith('/update/request')) return true;
        const req = JSON.parse(payload.toString()) as { jobId: string; index: number };
        r.requests.push(req.index);
        const bytes = r.serve.get(req.jobId);
        if (bytes) {
          const data = bytes.subarray(req.index * CHUNK, (req.index + 1) * CHUNK).toString('base64');
          setImmediate(() => r.agent?.handleMessage('chunk', Buffer.from(JSON.stringify({ v: 1, jobId: req.jobId, index: req.index, data }))));
        }
        return true;
      },
    },
    logger,
    chunkTimeoutMs: 60_000,
    watchTickMs: 20,
    ...tuning,
  });
  await r.agent.start();
}

export async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await poll(cond, { what, everyMs: 20, timeoutMs: 10_000 });
}

export function job(r: Rig, state: string, fields: Partial<JobRecord> = {}): JobRecord {
  return { v: 1, offer: r.offer, state, nextChunk: 0, received: 0, previous: r.old, resumes: 0, reported: state, updatedAt: 0, ...fields };
}

export async function writeDownload(r: Rig, bytes: Buffer): Promise<void> {
  const f = r.store.artifactFile(r.offer.jobId);
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(f, bytes);
}

export async function stage(r: Rig): Promise<string> {
  const dir = r.store.stagedDir(r.k.name, r.offer.artifact.id);
  await mkdir(path.dirname(path.join(dir, r.k.stagedFile)), { recursive: true });
  await writeFile(path.join(dir, r.k.stagedFile), r.k.kind === 'model' ? '{}' : r.bytes);
  return dir;
}

export const lastState = (r: Rig) => r.states.at(-1);


/** The end state of `jobId` once it has one (committed, rolled-back, failed or rejected). */
export async function endOf(r: Rig, jobId: string): Promise<UpdateState> {
  const ended = (): UpdateState | undefined => r.states.find((s) => s.jobId === jobId && ['committed', 'rolled-back', 'failed', 'rejected'].includes(s.state));
  await until(() => ended() !== undefined, `the end of ${jobId}`);
  return ended()!;
}

/** Offers `bytes` as `artifact` over MQTT chunks, answered by the stand-in fleet; resolves at the job's end. */
export async function runOffer(r: Rig, jobId: string, artifact: UpdateOffer['artifact'], bytes: Buffer): Promise<UpdateState> {
  r.serve.set(jobId, bytes);
  const offer: UpdateOffer = { ...r.offer, jobId, artifact, transfer: { type: 'mqtt', chunkSize: CHUNK, chunks: Math.ceil(bytes.byteLength / CHUNK) } };
  r.agent!.handleMessage('offer', Buffer.from(JSON.stringify(offer)));
  return endOf(r, jobId);
}

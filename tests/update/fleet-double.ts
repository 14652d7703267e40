/**
 * A minimal stand-in for the fleet service in update tests: it signs artifacts, publishes offers,
 * answers chunk requests from a byte buffer (or holds back, to cut a transfer), and records every
 * `update/state` the device reports. The real fleet service lives in fleet/service/.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { updateTopic, type DeviceAddress } from '../../fleet/protocol/topics.ts';
import {
  ChunkRequestSchema,
  UpdateStateSchema,
  type Artifact,
  type ChunkRequest,
  type UpdateOffer,
  type UpdateState,
} from '../../fleet/protocol/update.ts';
import { rawPublicKeyBase64 } from '../../fleet/protocol/signing.ts';
import { signFields } from '../../fleet/cli/signing.ts';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  /** What goes into the device's `updates.publicKeys[keyId]`. */
  publicKeyBase64: string;
}

export function generateSigningKey(keyId = 'test-key'): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId, privateKey, publicKeyBase64: rawPublicKeyBase64(publicKey) };
}

export interface ArtifactOptions {
  id: string;
  name?: string;
  /** Default: "catalog" when `name` is "catalog", else "model". */
  kind?: Artifact['kind'];
  version: string;
  key: SigningKey;
  /** Override fields after signing (a tampered offer), or the sha256 signed (a wrong hash). */
  declaredSha256?: string;
  resignWith?: SigningKey;
  /** A signed explicit rollback (see isDowngrade). */
  rollbackFrom?: string;
}

export function makeArtifact(bytes: Buffer, o: ArtifactOptions): Artifact {
  const sha256 = o.declaredSha256 ?? createHash('sha256').update(bytes).digest('hex');
  const kind = o.kind ?? (o.name === 'catalog' ? 'catalog' : 'model');
  const meta = { id: o.id, kind, name: o.name ?? 'face-mesh', version: o.version, size: bytes.byteLength, sha256, ...(o.rollbackFrom ? { rollbackFrom: o.rollbackFrom } : {}) };
  const signer = o.resignWith ?? o.key;
  return { ...meta, signature: signFields(meta, signer.privateKey), keyId: o.key.keyId };
}

export interface FleetDouble {
  states: UpdateState[];
  requests: ChunkRequest[];
  /** Offers `bytes` as `artifact` in chunks; `serve(index)` false holds the answer back. */
  offer(opts: {
    jobId: string;
    artifact: Artifact;
    bytes: Buffer;
    chunkSize?: number;
    watchSeconds?: number;
    serve?: (index: number) => boolean;
  }): Promise<UpdateOffer>;
  /**
   * Offers again every second until the device reports anything for the job (a device that has
   * just started may not have subscribed yet; the real fleet re-offers to devices that come online).
   */
  offerUntilHeard(opts: Parameters<FleetDouble['offer']>[0], timeoutMs?: number): Promise<UpdateOffer>;
  /** Answers a chunk request that was held back (or any index) now. */
  answer(jobId: string, index: number): Promise<void>;
  setServe(jobId: string, serve: (index: number) => boolean): void;
  cancel(jobId: string, action: 'abort' | 'rollback'): Promise<void>;
  waitForState(match: (s: UpdateState) => boolean, timeoutMs?: number, what?: string): Promise<UpdateState>;
  close(): Promise<void>;
}

export async function startFleetDouble(url: string, addr: DeviceAddress): Promise<FleetDouble> {
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: `fleet-double-${Math.random().toString(36).slice(2, 10)}`,
    protocolVersion: 4,
    reconnectPeriod: 200,
  });
  client.on('error', () => {});
  const states: UpdateState[] = [];
  const requests: ChunkRequest[] = [];
  const jobs = new Map<string, { bytes: Buffer; chunkSize: number; serve: (i: number) => boolean }>();
  const waiters = new Set<() => void>();
  const stateTopic = updateTopic(addr, 'state');
  const requestTopic = updateTopic(addr, 'request');

  async function sendChunk(jobId: string, index: number): Promise<void> {
    const job = jobs.get(jobId);
    if (!job) return;
    const data = job.bytes.subarray(index * job.chunkSize, (index + 1) * job.chunkSize);
    await client.publishAsync(updateTopic(addr, 'chunk'), JSON.stringify({ v: 1, jobId, index, data: data.toString('base64') }), { qos: 1 });
  }

  client.on('message', (topic, payload) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic === stateTopic) {
      const s = UpdateStateSchema.safeParse(json);
      if (s.success) states.push(s.data);
    } else if (topic === requestTopic) {
      const r = ChunkRequestSchema.safeParse(json);
      if (!r.success) return;
      requests.push(r.data);
      const job = jobs.get(r.data.jobId);
      if (job && job.serve(r.data.index)) void sendChunk(r.data.jobId, r.data.index);
    }
    for (const w of [...waiters]) w();
  });
  await client.subscribeAsync([stateTopic, requestTopic], { qos: 1 });

  const double: FleetDouble = {
    states,
    requests,
    async offer({ jobId, artifact, bytes, chunkSize = 32 * 1024, watchSeconds = 2, serve = () => true }) {
      jobs.set(jobId, { bytes, chunkSize, serve });
      const offer: UpdateOffer = {
        v: 1,
        jobId,
        rolloutId: 'rollout-test',
        artifact,
        transfer: { type: 'mqtt', chunkSize, chunks: Math.ceil(artifact.size / chunkSize) },
        watchSeconds,
        ts: Date.now(),
      };
      await client.publishAsync(updateTopic(addr, 'offer'), JSON.stringify(offer), { qos: 1 });
      return offer;
    },
    async offerUntilHeard(opts, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const offer = await double.offer(opts);
        for (let i = 0; i < 10; i++) {
          if (states.some((s) => s.jobId === opts.jobId)) return offer;
          await new Promise((r) => setTimeout(r, 100));
        }
        if (Date.now() > deadline) throw new Error(`no device answered offer ${opts.jobId}`);
      }
    },
    answer: sendChunk,
    setServe(jobId, serve) {
      const job = jobs.get(jobId);
      if (job) job.serve = serve;
    },
    async cancel(jobId, action) {
      await client.publishAsync(updateTopic(addr, 'cancel'), JSON.stringify({ v: 1, jobId, action, ts: Date.now() }), { qos: 1 });
    },
    waitForState(match, timeoutMs = 60_000, what = 'update state') {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const s = states.find(match);
          if (!s) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(s);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; states: ${states.map((s) => `${s.jobId}:${s.state}${s.reason ? `(${s.reason})` : ''}`).join(', ')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      await client.endAsync(true);
    },
  };
  return double;
}

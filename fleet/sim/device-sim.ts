/**
 * A light simulated mirror for tests and the fleet bench: one MQTT.js client that speaks protocol
 * v1 like the real daemon (retained birth with a seq-tagged last will, metrics, events) and
 * follows the update protocol (offer → pull chunks → verify → smoke test → active → committed,
 * then telemetry showing the new version serving). No camera, no models: it only plays the
 * messages. Hundreds share one process.
 */
import { createHash, randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { encodeMessage, type EventData, type EventMessage, type EventType, type MetricsMessage, type StatusMessage } from '../protocol/schemas.ts';
import { eventsTopic, statusTopic, telemetryTopic, updateTopic, type DeviceAddress } from '../protocol/topics.ts';
import { ChunkSchema, UpdateCancelSchema, UpdateOfferSchema, type UpdateOffer, type UpdateState } from '../protocol/update.ts';

export type UpdateDecision = 'ok' | 'fail-smoke-test' | 'stall';

export interface SimDeviceOptions extends DeviceAddress {
  url: string;
  models?: Record<string, string>;
  firmwareVersion?: string;
  connectionSeq?: number;
  mqtt?: Partial<IClientOptions>;
  /** What this device does with an offer (default ok). */
  decide?: (offer: UpdateOffer, device: SimDevice) => UpdateDecision;
  /** Publish a metrics message right after committing (default true). */
  reportAfterCommit?: boolean;
}

export class SimDevice {
  readonly addr: DeviceAddress;
  client!: MqttClient;
  models: Record<string, string>;
  seq: number;
  sent = { metrics: 0, events: 0 };
  /** jobId → the last state reported. */
  readonly jobs = new Map<string, UpdateState['state']>();
  readonly offers: UpdateOffer[] = [];
  private previous = new Map<string, string>();
  private downloads = new Map<string, { offer: UpdateOffer; parts: Buffer[]; decision: UpdateDecision }>();
  private uptimeStart = Date.now();
  private processed = 0;

  constructor(private readonly o: SimDeviceOptions) {
    this.addr = { storeId: o.storeId, deviceId: o.deviceId };
    this.models = { ...(o.models ?? { 'face-mesh': '1.0.0' }) };
    this.seq = o.connectionSeq ?? 1;
  }

  private status(state: 'online' | 'offline', reason?: string): Buffer {
    const msg: StatusMessage = {
      v: 1,
      state,
      deviceId: this.o.deviceId,
      storeId: this.o.storeId,
      connectionSeq: this.seq,
      ts: Date.now(),
      firmwareVersion: this.o.firmwareVersion ?? '0.1.0',
      models: { ...this.models },
      ...(reason ? { reason } : {}),
    };
    const e = encodeMessage('status', msg);
    if (!e.ok) throw new Error(e.error);
    return e.payload;
  }

  async start(): Promise<void> {
    this.client = mqtt.connect(this.o.url, {
      clientId: `sim-${this.o.storeId}-${this.o.deviceId}`.slice(0, 64),
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 15_000,
      will: { topic: statusTopic(this.addr), payload: this.status('offline', 'connection-lost'), qos: 1, retain: true },
      ...this.o.mqtt,
    });
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.client.once('connect', () => resolve());
      this.client.once('error', reject);
    });
    await this.client.subscribeAsync([updateTopic(this.addr, 'offer'), updateTopic(this.addr, 'chunk'), updateTopic(this.addr, 'cancel')], { qos: 1 });
    await this.client.publishAsync(statusTopic(this.addr), this.status('online'), { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    if (!this.client) return;
    await this.client.publishAsync(statusTopic(this.addr), this.status('offline', 'shutdown'), { qos: 1, retain: true }).catch(() => undefined);
    await this.client.endAsync().catch(() => undefined);
  }

  metrics(overrides: Partial<MetricsMessage> = {}): MetricsMessage {
    this.processed += 150;
    return {
      v: 1,
      msgId: randomUUID(),
      deviceId: this.o.deviceId,
      ts: Date.now(),
      intervalS: 5,
      fps: 30,
      latencyP50Ms: 18,
      latencyP95Ms: 31,
      droppedFrames: 0,
      processedFrames: this.processed,
      backends: { mesh: 'tfjs-wasm' },
      models: { ...this.models },
      uptimeS: (Date.now() - this.uptimeStart) / 1000,
      rssBytes: 200_000_000,
      cpuLoad: 0.4,
      ...overrides,
    };
  }

  async sendMetrics(overrides: Partial<MetricsMessage> = {}): Promise<MetricsMessage> {
    const m = this.metrics(overrides);
    const e = encodeMessage('metrics', m);
    if (!e.ok) throw new Error(e.error);
    await this.client.publishAsync(telemetryTopic(this.addr), e.payload, { qos: 1 });
    this.sent.metrics++;
    return m;
  }

  async sendEvent<T extends EventType>(type: T, data: EventData<T>): Promise<EventMessage> {
    const ev: EventMessage = { v: 1, msgId: randomUUID(), deviceId: this.o.deviceId, ts: Date.now(), type, data };
    const e = encodeMessage('event', ev);
    if (!e.ok) throw new Error(e.error);
    await this.client.publishAsync(eventsTopic(this.addr), e.payload, { qos: 1 });
    this.sent.events++;
    return ev;
  }

  private async report(offer: UpdateOffer, state: UpdateState['state'], extra: Partial<UpdateState> = {}): Promise<void> {
    this.jobs.set(offer.jobId, state);
    const msg: UpdateState = {
      v: 1,
      msgId: randomUUID(),
      jobId: offer.jobId,
      rolloutId: offer.rolloutId,
      deviceId: this.o.deviceId,
      artifactId: offer.artifact.id,
      state,
      ts: Date.now(),
      ...extra,
    };
    await this.client.publishAsync(updateTopic(this.addr, 'state'), Buffer.from(JSON.stringify(msg)), { qos: 1 });
  }

  private async request(jobId: string, index: number): Promise<void> {
    const msg = { v: 1, jobId, deviceId: this.o.deviceId, index, ts: Date.now() };
    await this.client.publishAsync(updateTopic(this.addr, 'request'), Buffer.from(JSON.stringify(msg)), { qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const sub = topic.split('/').slice(4).join('/');
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    const run = (p: Promise<void>) => p.catch(() => undefined);
    if (sub === 'update/offer') {
      const o = UpdateOfferSchema.safeParse(json);
      if (o.success) run(this.onOffer(o.data));
    } else if (sub === 'update/chunk') {
      const c = ChunkSchema.safeParse(json);
      if (c.success) run(this.onChunk(c.data.jobId, c.data.index, Buffer.from(c.data.data, 'base64')));
    } else if (sub === 'update/cancel') {
      const c = UpdateCancelSchema.safeParse(json);
      if (c.success) run(this.onCancel(c.data.jobId, c.data.action));
    }
  }

  private async onOffer(offer: UpdateOffer): Promise<void> {
    if (this.jobs.has(offer.jobId)) return; // a repeated offer (e.g. on re-birth): already on it
    this.offers.push(offer);
    const decision = this.o.decide?.(offer, this) ?? 'ok';
    await this.report(offer, 'announced');
    if (decision === 'stall') return;
    await this.report(offer, 'downloading', { received: 0 });
    if (offer.transfer.type === 'http') {
      const res = await fetch(offer.transfer.url);
      const bytes = Buffer.from(await res.arrayBuffer());
      await this.finish(offer, bytes, decision);
      return;
    }
    this.downloads.set(offer.jobId, { offer, parts: [], decision });
    await this.request(offer.jobId, 0);
  }

  private async onChunk(jobId: string, index: number, data: Buffer): Promise<void> {
    const d = this.downloads.get(jobId);
    if (!d || d.offer.transfer.type !== 'mqtt' || index !== d.parts.length) return;
    d.parts.push(data);
    if (d.parts.length < d.offer.transfer.chunks) {
      await this.request(jobId, d.parts.length);
      return;
    }
    this.downloads.delete(jobId);
    await this.finish(d.offer, Buffer.concat(d.parts), d.decision);
  }

  private async finish(offer: UpdateOffer, bytes: Buffer, decision: UpdateDecision): Promise<void> {
    await this.report(offer, 'verifying', { received: bytes.length });
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== offer.artifact.size || sha !== offer.artifact.sha256) {
      await this.report(offer, 'failed', { reason: 'sha256-mismatch' });
      return;
    }
    await this.report(offer, 'staged');
    await this.report(offer, 'smoke-testing');
    if (decision === 'fail-smoke-test') {
      await this.report(offer, 'failed', { reason: 'smoke-test-failed', servingVersion: this.models[offer.artifact.name] });
      return;
    }
    const name = offer.artifact.name;
    this.previous.set(offer.jobId, this.models[name]);
    this.models[name] = offer.artifact.version;
    await this.report(offer, 'active', { servingVersion: offer.artifact.version });
    await this.report(offer, 'watching', { servingVersion: offer.artifact.version });
    await this.report(offer, 'committed', { servingVersion: offer.artifact.version });
    if (this.o.reportAfterCommit !== false) await this.sendMetrics();
  }

  private async onCancel(jobId: string, action: 'abort' | 'rollback'): Promise<void> {
    const offer = this.offers.find((o) => o.jobId === jobId);
    if (!offer) return;
    this.downloads.delete(jobId);
    const prev = this.previous.get(jobId);
    if (action === 'rollback' && prev !== undefined) {
      this.models[offer.artifact.name] = prev;
      await this.report(offer, 'rolled-back', { reason: 'cancelled', servingVersion: prev });
      await this.sendMetrics();
    } else if (!['committed', 'failed', 'rolled-back', 'rejected'].includes(this.jobs.get(jobId) ?? '')) {
      await this.report(offer, 'failed', { reason: 'cancelled' });
    }
  }
}

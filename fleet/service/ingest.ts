/**
 * MQTT ingest: one subscription per device→fleet topic for every device, every message validated
 * (`parseMessage` for status/telemetry/events, the update schemas for update/state and
 * update/request), stored idempotently, and only then acknowledged: the service passes
 * `handleMessage` to MQTT.js, so the PUBACK of a QoS 1 message goes out after the store has it
 * (a crash before that makes the broker redeliver; msgId de-duplication absorbs the repeat).
 * A bad message is counted per error code and field, logged (rate-limited) and acknowledged;
 * a message the store can never take is dead-lettered and acknowledged, a store outage is
 * retried (ingest-retry.ts); nothing throws out of here.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { parseMessage } from '../protocol/schemas.ts';
import { channelFilter, parseTopic, type ParsedTopic } from '../protocol/topics.ts';
import { ChunkRequestSchema, UpdateStateSchema } from '../protocol/update.ts';
import type { FleetConfig } from './config.ts';
import { serviceClientOptions } from './mqtt-options.ts';
import { deliverWithRetry, type Delivery, type RetryPolicy } from './ingest-retry.ts';
import type { Logger, RolloutEngine } from './rollouts/engine.ts';
import type { FleetStore } from './store/fleet-store.ts';

export const INGEST_FILTERS = [
  channelFilter('status'),
  channelFilter('telemetry'),
  channelFilter('events'),
  'mirror/v1/+/+/update/request',
  'mirror/v1/+/+/update/state',
];

/**
 * What one instance subscribes to. With a `shareGroup`, every filter becomes an MQTT shared
 * subscription (`$share/<group>/<filter>`, MQTT 5 and Mosquitto's v3.1.1 alike): the broker hands
 * each message to one member of the group, so several instances split the ingest, and the
 * `seen_messages` ledger makes a redelivery to another member (after a crash) a duplicate, not a
 * second row. A shared subscription receives no retained messages: an instance learns device
 * states from the store and from the births devices publish at every connection.
 */
export function ingestSubscriptions(shareGroup?: string): string[] {
  return shareGroup === undefined ? [...INGEST_FILTERS] : INGEST_FILTERS.map((f) => `$share/${shareGroup}/${f}`);
}

export interface IngestStats {
  received: number;
  stored: { status: number; metrics: number; events: number; updateStates: number; chunkRequests: number };
  duplicates: number;
  staleStatus: number;
  invalid: number;
  /** `code:field` → count, e.g. `bad-field:fps`. */
  invalidBy: Record<string, number>;
  /** Failed store attempts (each retried or dead-lettered), by kind: transient, permanent, unknown. */
  errors: number;
  storeErrors: Record<string, number>;
  /** Attempts repeated after a store failure. */
  retried: number;
  /** Messages that can never be stored, acknowledged into the dead-letter table. */
  deadLettered: number;
  /** Messages handed back to the broker for redelivery after `retryHoldMs` of failures. */
  redelivered: number;
  /** Since when a message has waited with nothing acknowledged (undefined: nothing waits). */
  waitingSince: number | undefined;
  lastAckAt: number | undefined;
  /** Receive → stored, ms, over the last samples; and device ts → stored for telemetry/events. */
  lag: { samples: number; p50Ms: number; p95Ms: number; maxMs: number };
  connected: boolean;
}

const LAG_WINDOW = 200_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export class Ingest {
  private client: MqttClient | undefined;
  private readonly s = {
    received: 0,
    stored: { status: 0, metrics: 0, events: 0, updateStates: 0, chunkRequests: 0 },
    duplicates: 0,
    staleStatus: 0,
    invalid: 0,
    invalidBy: {} as Record<string, number>,
    errors: 0,
    storeErrors: {} as Record<string, number>,
    retried: 0,
    deadLettered: 0,
    redelivered: 0,
    waitingSince: undefined as number | undefined,
    lastAckAt: undefined as number | undefined,
  };
  private readonly lags: number[] = [];
  private lagPos = 0;
  private warnBudget = { windowStart: 0, n: 0 };

  constructor(
    private readonly store: FleetStore,
    private readonly engine: RolloutEngine,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly policy: RetryPolicy = { holdMs: 10_000, maxAttempts: 5 },
  ) {}

  stats(): IngestStats {
    const sorted = [...this.lags].sort((a, b) => a - b);
    return {
      ...this.s,
      stored: { ...this.s.stored },
      invalidBy: { ...this.s.invalidBy },
      storeErrors: { ...this.s.storeErrors },
      lag: { samples: sorted.length, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), maxMs: sorted.at(-1) ?? 0 },
      connected: this.client?.connected ?? false,
    };
  }

  /** Device timestamp → stored, p95 over the last `n` messages (undefined when none was stored). */
  recentLagP95(n = 1000): number | undefined {
    const len = this.lags.length;
    if (len === 0) return undefined;
    // `lags` is a ring once full: the newest sample sits just before `lagPos`.
    const end = len < LAG_WINDOW ? len : this.lagPos % LAG_WINDOW;
    const recent: number[] = [];
    for (let i = 1; i <= Math.min(n, len); i++) recent.push(this.lags[(end - i + len) % len]);
    return percentile(recent.sort((a, b) => a - b), 95);
  }

  async connect(cfg: FleetConfig['mqtt']): Promise<MqttClient> {
    const client = mqtt.connect(
      cfg.url,
      serviceClientOptions(cfg, { clientId: cfg.clientId, clean: cfg.cleanSession, reconnectPeriod: 1000, connectTimeout: 10_000 }),
    );
    this.client = client;
    // The PUBACK of a QoS 1 message goes out only when this calls `done` without an error: after
    // the store has it (or its dead letter).
    client.handleMessage = (packet, done) => {
      void this.deliver(packet.topic, packet.payload as Buffer).then((d) => {
        if (d !== 'redeliver') return done();
        done(new Error('store unavailable; message left to the broker'));
        // MQTT.js does not resend an unacknowledged message by itself: the broker redelivers it
        // (and what followed it) to the persistent session after a reconnect.
        this.log.warn({ topic: packet.topic.slice(0, 200) }, 'store still failing; reconnecting for a redelivery');
        client.stream?.destroy();
      });
    };
    client.on('connect', (ack) => {
      this.log.info({ url: redact(cfg.url), sessionPresent: ack.sessionPresent, shareGroup: cfg.shareGroup }, 'fleet MQTT connected');
      client.subscribe(
        ingestSubscriptions(cfg.shareGroup),
        { qos: 1 },
        (err, granted) => {
          if (err) this.log.error({ err: String(err) }, 'subscribe failed');
          const refused = (granted ?? []).filter((g) => g.qos === 128);
          if (refused.length) this.log.error({ topics: refused.map((g) => g.topic) }, 'broker refused subscriptions (ACL?)');
        },
      );
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'fleet MQTT error'));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`MQTT ${redact(cfg.url)}: no connection within 10 s`)), 10_000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
    return client;
  }

  /**
   * QoS 1, queued by MQTT.js until the broker acknowledges. Resolves at once: it is called from
   * inside `handleMessage`, and MQTT.js handles no incoming packet (the PUBACK included) until
   * that returns, so waiting for the PUBACK here would deadlock.
   */
  publish(topic: string, payload: Buffer): Promise<void> {
    const c = this.client;
    if (!c) return Promise.reject(new Error('MQTT not connected'));
    c.publish(topic, payload, { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message, topic }, 'publish failed');
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => c.end(false, {}, () => r()));
  }

  private invalid(topic: string, code: string, field: string, error: string): void {
    this.s.invalid++;
    const key = `${code}:${field}`;
    this.s.invalidBy[key] = (this.s.invalidBy[key] ?? 0) + 1;
    this.warn({ topic: topic.slice(0, 200), code, field, error: error.slice(0, 300) }, 'invalid MQTT message dropped');
  }

  /** At most 20 warnings per 10 s: a flood of bad messages must not become a flood of logs. */
  private warn(obj: object, msg: string): void {
    const now = this.now();
    if (now - this.warnBudget.windowStart > 10_000) this.warnBudget = { windowStart: now, n: 0 };
    if (++this.warnBudget.n <= 20) this.log.warn(obj, msg);
  }

  private lag(ms: number): void {
    if (this.lags.length < LAG_WINDOW) this.lags.push(ms);
    else this.lags[this.lagPos++ % LAG_WINDOW] = ms;
  }

  /**
   * One message from the broker with the failure policy applied: stored (or refused as invalid),
   * dead-lettered, or to be redelivered by the broker. Never rejects.
   */
  async deliver(topic: string, payload: Buffer): Promise<Delivery> {
    this.s.waitingSince ??= this.now();
    let d: Delivery;
    try {
      d = await deliverWithRetry(this.policy, {
        attempt: () => this.handle(topic, payload),
        deadLetter: async (reason, error) => {
          await this.store.deadLetters.add(topic, payload, reason, error, this.now());
          this.s.deadLettered++;
          this.log.error({ topic: topic.slice(0, 200), reason, error }, 'message can never be stored; dead-lettered and acknowledged');
        },
        ping: () => this.store.deadLetters.ping(),
        failed: (kind, error) => {
          this.s.errors++;
          this.s.storeErrors[kind] = (this.s.storeErrors[kind] ?? 0) + 1;
          this.warn({ topic: topic.slice(0, 200), kind, error }, 'storing a message failed');
        },
        now: this.now,
        sleep: (ms) => {
          this.s.retried++;
          return new Promise((r) => setTimeout(r, ms));
        },
      });
    } catch (err) {
      // Only a bug in the policy itself lands here; leave the message to the broker.
      this.log.error({ err: String(err) }, 'ingest delivery failed');
      d = 'redeliver';
    }
    if (d === 'redeliver') {
      this.s.redelivered++;
    } else {
      this.s.waitingSince = undefined;
      this.s.lastAckAt = this.now();
    }
    return d;
  }

  /** One message from the broker. Rejects only when the store failed (then it is not acked). */
  async handle(topic: string, payload: Buffer): Promise<void> {
    this.s.received++;
    const t = parseTopic(topic);
    if (!t.ok) return this.invalid(topic, 'bad-topic', t.field, t.error);
    if (t.value.channel === 'update') return this.handleUpdate(topic, t.value, payload);
    const m = parseMessage(topic, payload);
    if (!m.ok) return this.invalid(topic, m.code, m.field, m.error);
    const now = this.now();
    const storeId = m.topic.storeId;
    const addr = { storeId, deviceId: m.topic.deviceId };
    switch (m.kind) {
      case 'status': {
        const r = await this.store.messages.ingestStatus(storeId, m.value, now);
        if (!r.applied) {
          this.s.staleStatus++;
          return;
        }
        this.s.stored.status++;
        if (m.value.state === 'online') await this.engine.onBirth(addr);
        if (Object.keys(m.value.models).length) await this.engine.onModels(addr);
        return;
      }
      case 'metrics': {
        const r = await this.store.messages.ingestMetrics(storeId, m.value, now);
        if (r.duplicate) {
          this.s.duplicates++;
          return;
        }
        this.s.stored.metrics++;
        this.lag(Math.max(0, this.now() - m.value.ts));
        await this.engine.onModels(addr);
        return;
      }
      case 'event': {
        const r = await this.store.messages.ingestEvent(storeId, m.value, now);
        if (r.duplicate) {
          this.s.duplicates++;
          return;
        }
        this.s.stored.events++;
        this.lag(Math.max(0, this.now() - m.value.ts));
        return;
      }
    }
  }

  private async handleUpdate(topic: string, t: ParsedTopic, payload: Buffer): Promise<void> {
    const sub = t.subtopic.join('/');
    if (sub !== 'state' && sub !== 'request') return this.invalid(topic, 'unsupported-channel', 'topic.subtopic', `topic.subtopic: update/${sub} is not device → fleet`);
    if (payload.byteLength > 64 * 1024) return this.invalid(topic, 'too-large', '(payload)', '(payload): too large');
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return this.invalid(topic, 'bad-json', '(payload)', `(payload): not JSON (${(err as Error).message})`);
    }
    const schema = sub === 'state' ? UpdateStateSchema : ChunkRequestSchema;
    const p = schema.safeParse(json);
    if (!p.success) {
      const i = p.error.issues[0];
      const field = i.path.length ? i.path.map(String).join('.') : '(root)';
      return this.invalid(topic, 'bad-field', field, `${field}: ${i.message}`);
    }
    const v = p.data;
    if (v.deviceId !== t.deviceId) return this.invalid(topic, 'topic-mismatch', 'deviceId', `deviceId: "${v.deviceId}" does not match the topic`);
    const addr = { storeId: t.storeId, deviceId: t.deviceId };
    if (sub === 'state') {
      const s = UpdateStateSchema.parse(json);
      if (!(await this.store.messages.markSeen(s.msgId, 'update-state', this.now()))) {
        this.s.duplicates++;
        return;
      }
      let r: Awaited<ReturnType<RolloutEngine['onUpdateState']>>;
      try {
        r = await this.engine.onUpdateState(addr, s);
      } catch (err) {
        // Not acknowledged to the broker either: the redelivery must find the id unseen.
        await this.store.messages.forgetSeen(s.msgId);
        throw err;
      }
      if (!r.ok) return this.invalid(topic, 'bad-job', r.field ?? 'jobId', r.error ?? 'unknown job');
      this.s.stored.updateStates++;
      return;
    }
    const r = await this.engine.onChunkRequest(addr, ChunkRequestSchema.parse(json));
    if (!r.ok) return this.invalid(topic, 'bad-job', r.field ?? 'jobId', r.error ?? 'unknown job');
    this.s.stored.chunkRequests++;
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

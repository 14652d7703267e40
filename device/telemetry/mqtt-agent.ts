/**
 * The mirror's MQTT presence: birth, last will, periodic metrics, durable sends, graceful offline.
 * This file wires the parts and owns the public interface:
 *  - mqtt-connection.ts: one client per attempt (fresh will + connectionSeq each), jittered backoff;
 *  - status-message.ts: birth / will / shutdown payloads;
 *  - metrics-publisher.ts: the periodic metrics message;
 *  - outbox-pump.ts: drains the on-disk outbox (outbox.ts) with a bounded window, delete on PUBACK;
 *  - `subscriptions` (the update agent's offers, chunks, cancels) are subscribed on every
 *    connection (clean sessions) and their messages go to `onMessage`.
 * Without an outbox, a metrics interval while disconnected is skipped and counted.
 *
 * Nothing here throws into the daemon: timers and client events catch and log. `start()` never
 * waits longer than `startTimeoutMs`, so a dead broker never holds up the mirror.
 *
 * Length: createTelemetryAgent (~95 lines) wires the parts above and returns the public interface;
 * its thirteen inner functions are one-liners to 14 lines.
 */
import type { MqttClient } from 'mqtt';
import { CHANNELS, isValidId, statusTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import type { MetricsMessage } from '../../fleet/protocol/schemas.ts';
import { createConnectionSeqStore } from './connection-seq.ts';
import { errorFields, redactUrl, type TelemetryLogger } from './logger.ts';
import { createMetricsPublisher } from './metrics-publisher.ts';
import { createMqttConnection, type ConnectionOptions, type MqttConnection } from './mqtt-connection.ts';
import type { Outbox, OutboxKind } from './outbox.ts';
import { createOutboxPump, type OutboxPump } from './outbox-pump.ts';
import { createStatusBuilder, type StatusBuilder } from './status-message.ts';
import { createSystemSampler, type SystemMetrics } from './system-metrics.ts';

export type { TelemetryLogger } from './logger.ts';
export { DEFAULT_RECONNECT, type MetricsSnapshot, type TelemetryAgent, type TelemetryAgentOptions, type TelemetryHealth } from './agent-types.ts';
import { DEFAULT_RECONNECT, type MetricsSnapshot, type TelemetryAgent, type TelemetryAgentOptions, type TelemetryHealth } from './agent-types.ts';

const BROKER_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

/** Throws a TypeError naming the option (a config error, reported at daemon start). */
function checkOptions(opts: TelemetryAgentOptions): void {
  if (!isValidId(opts.storeId)) throw new TypeError(`telemetry: invalid storeId ${JSON.stringify(opts.storeId)}`);
  if (!isValidId(opts.deviceId)) throw new TypeError(`telemetry: invalid deviceId ${JSON.stringify(opts.deviceId)}`);
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs < 100) {
    throw new TypeError(`telemetry: intervalMs must be at least 100, got ${String(opts.intervalMs)}`);
  }
  if (typeof opts.firmwareVersion !== 'string' || opts.firmwareVersion.length < 1 || opts.firmwareVersion.length > 64) {
    throw new TypeError('telemetry: firmwareVersion must be 1..64 characters');
  }
  let protocol: string;
  try {
    protocol = new URL(opts.url).protocol;
  } catch {
    throw new TypeError(`telemetry: MQTT url is not a URL: ${redactUrl(opts.url)}`);
  }
  if (!BROKER_PROTOCOLS.has(protocol)) throw new TypeError(`telemetry: unsupported MQTT url scheme ${protocol}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function subscribeAll(c: MqttClient, subs: string[], logger: TelemetryLogger, done: () => void): void {
  if (subs.length === 0) return done();
  c.subscribe(subs, { qos: 1 }, (err, granted) => {
    // A broker ACL answers a forbidden filter with 0x80 in the SUBACK, not with an error.
    const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) logger.error({ refused }, 'MQTT subscription refused by the broker (ACL? check the certificate CN or username)');
    if (err) logger.warn({ subscriptions: subs, ...errorFields(err) }, 'MQTT subscribe failed');
    else done();
  });
}

/** Publishes the shutdown status and disconnects; without the ack, closes so the will stands. */
async function sayGoodbye(c: MqttClient, topic: string, offline: Buffer | undefined, timeoutMs: number, logger: TelemetryLogger): Promise<boolean> {
  let acked = false;
  if (offline !== undefined) {
    try {
      await withTimeout(c.publishAsync(topic, offline, { qos: CHANNELS.status.qos, retain: CHANNELS.status.retain }), timeoutMs, 'offline status publish');
      acked = true;
    } catch (err) {
      logger.warn(errorFields(err), 'MQTT offline status not acknowledged; the broker will publish the last will');
    }
  }
  try {
    // A clean DISCONNECT makes the broker discard the will: the shutdown status stands.
    await withTimeout(c.endAsync(!acked), timeoutMs, 'MQTT disconnect');
  } catch (err) {
    logger.warn(errorFields(err), 'MQTT disconnect did not complete; closing the socket');
    c.end(true);
  }
  return acked;
}

function clientOptions(opts: TelemetryAgentOptions): ConnectionOptions['client'] {
  return {
    clientId: opts.clientId ?? `${opts.storeId}:${opts.deviceId}`,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    keepalive: opts.keepaliveS ?? 30,
    ...(opts.username === undefined ? {} : { username: opts.username }),
    ...(opts.password === undefined ? {} : { password: opts.password }),
    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
    ...(opts.cert === undefined ? {} : { cert: opts.cert }),
    ...(opts.key === undefined ? {} : { key: opts.key }),
  };
}

function outboxSummary(outbox: Outbox): NonNullable<MetricsMessage['outbox']> {
  const st = outbox.stats();
  return { pending: st.pending, droppedTelemetry: st.dropped.telemetry, droppedEvents: st.dropped.event + st.dropped.update };
}

function telemetryHealth(running: boolean, connection: MqttConnection, outbox: Outbox | undefined): TelemetryHealth {
  const degraded: string[] = [];
  const brokerError = connection.lastError;
  if (running && !connection.connected) degraded.push('broker-unreachable');
  const ob = outbox?.health();
  if (ob?.writeError !== undefined) degraded.push('outbox-write-failing');
  if (ob?.full) degraded.push('outbox-full');
  return {
    connected: connection.connected,
    degraded,
    ...(brokerError === undefined ? {} : { brokerError }),
    outbox: outbox?.stats() ?? null,
  };
}

interface AnnounceContext {
  opts: Pick<TelemetryAgentOptions, 'subscriptions' | 'onConnect' | 'logger'>;
  statusTopic: string;
  status: StatusBuilder;
  isCurrent: (c: MqttClient) => boolean;
}

/** On every connection: the retained birth, then the subscriptions, then the caller's onConnect. */
function announce(c: MqttClient, seq: number, ctx: AnnounceContext): void {
  const { logger } = ctx.opts;
  const birth = ctx.status('online', seq);
  if (birth !== undefined) {
    c.publish(ctx.statusTopic, birth, { qos: CHANNELS.status.qos, retain: CHANNELS.status.retain }, (err) => {
      if (err) logger.warn({ connectionSeq: seq, ...errorFields(err) }, 'MQTT birth publish failed');
    });
  }
  subscribeAll(c, ctx.opts.subscriptions ?? [], logger, () => {
    if (!ctx.isCurrent(c)) return;
    try {
      ctx.opts.onConnect?.();
    } catch (err) {
      logger.error(errorFields(err), 'MQTT onConnect handler threw');
    }
  });
}

/** Sends over the live connection or through the outbox. */
function createSender(connection: MqttConnection, outbox: Outbox | undefined, pump: OutboxPump | undefined, logger: TelemetryLogger) {
  function publishNow(topic: string, payload: Buffer): boolean {
    const c = connection.client;
    if (c === undefined) return false;
    c.publish(topic, payload, { qos: 1, retain: false }, (err) => {
      if (err) logger.warn({ topic, ...errorFields(err) }, 'MQTT publish failed');
    });
    return true;
  }
  async function publishAcked(topic: string, payload: Buffer, timeoutMs: number): Promise<boolean> {
    const c = connection.client;
    if (c === undefined || !connection.connected) return false;
    try {
      await withTimeout(c.publishAsync(topic, payload, { qos: 1, retain: false }), timeoutMs, 'publish');
      return true;
    } catch (err) {
      logger.warn({ topic, ...errorFields(err) }, 'MQTT publish not acknowledged');
      return false;
    }
  }
  function enqueue(kind: OutboxKind, topic: string, payload: Buffer): boolean {
    if (!outbox) return publishNow(topic, payload);
    try {
      outbox.append(kind, topic, payload);
    } catch (err) {
      logger.error({ kind, topic, ...errorFields(err) }, 'outbox append failed; message lost');
      return false;
    }
    pump?.drain();
    return true;
  }
  return { publishNow, publishAcked, enqueue };
}

/** The snapshot (remembering its model maps) and the status builder that falls back on them. */
function statusSource(opts: TelemetryAgentOptions): { snapshot: () => MetricsSnapshot; status: StatusBuilder } {
  /** The last good snapshot's maps, for a status built while snapshot() throws. */
  let lastKnown: Pick<MetricsSnapshot, 'models' | 'backends'> = { models: {}, backends: {} };
  const snapshot = (): MetricsSnapshot => {
    const s = opts.snapshot();
    lastKnown = { models: s.models, backends: s.backends };
    return s;
  };
  const status = createStatusBuilder({
    storeId: opts.storeId,
    deviceId: opts.deviceId,
    firmwareVersion: opts.firmwareVersion,
    snapshot,
    lastKnown: () => lastKnown,
    logger: opts.logger,
  });
  return { snapshot, status };
}

/** Metrics go through the outbox; without one: published when connected, else skipped and counted. */
function metricsTick(
  opts: TelemetryAgentOptions,
  connection: MqttConnection,
  sender: Pick<TelemetryAgent, 'publishNow' | 'enqueue'>,
  snapshot: () => MetricsSnapshot,
  skipped: { intervals: number },
): () => void {
  const { outbox } = opts;
  const topic = telemetryTopic({ storeId: opts.storeId, deviceId: opts.deviceId });
  return createMetricsPublisher({
    deviceId: opts.deviceId,
    intervalMs: opts.intervalMs,
    snapshot,
    systemMetrics: opts.systemMetrics === false ? undefined : (opts.systemMetrics ?? defaultSystemSampler()),
    outbox: outbox ? () => outboxSummary(outbox) : undefined,
    // Without an outbox, a snapshot taken while offline would only be thrown away.
    canDeliver: () => outbox !== undefined || connection.connected,
    deliver: (payload) => {
      if (outbox) sender.enqueue('telemetry', topic, payload);
      else if (!sender.publishNow(topic, payload)) skipped.intervals += 1;
    },
    onSkipped: () => {
      skipped.intervals += 1;
    },
    logger: opts.logger,
  });
}

export function createTelemetryAgent(opts: TelemetryAgentOptions): TelemetryAgent {
  checkOptions(opts);
  const { logger, outbox } = opts;
  const addr = { storeId: opts.storeId, deviceId: opts.deviceId };
  const topics = { status: statusTopic(addr) };
  const safeUrl = redactUrl(opts.url);
  const stopTimeoutMs = opts.stopTimeoutMs ?? 2_000;
  let phase: 'idle' | 'running' | 'stopped' = 'idle';
  /** Metrics intervals lost while offline without an outbox, reported at the next connect. */
  const skipped = { intervals: 0 };
  let metricsTimer: NodeJS.Timeout | undefined;
  let startPromise: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;
  let resolveFirstOutcome: () => void = () => {};
  const firstOutcome = new Promise<void>((resolve) => {
    resolveFirstOutcome = resolve;
  });

  const { snapshot, status } = statusSource(opts);
  const pump = outbox ? createOutboxPump(outbox, Math.max(1, opts.outboxWindow ?? 32), logger) : undefined;
  // Records become sendable when their batch is on disk.
  outbox?.onCommit(() => pump?.drain());

  const connection = createMqttConnection({
    url: opts.url,
    safeUrl,
    statusTopic: topics.status,
    will: (seq) => status('offline', seq, 'connection-lost'),
    seqStore: createConnectionSeqStore(opts.stateDir, logger),
    client: clientOptions(opts),
    backoff: { ...DEFAULT_RECONNECT, ...opts.reconnect, jitter: 'full' },
    random: opts.random ?? Math.random,
    stableAfterMs: opts.stableAfterMs ?? 30_000,
    logger,
    onConnect: (c, seq) => {
      logger.info({ url: safeUrl, connectionSeq: seq, ...(skipped.intervals > 0 ? { skippedIntervals: skipped.intervals } : {}) }, 'MQTT connected');
      skipped.intervals = 0;
      announce(c, seq, { opts, statusTopic: topics.status, status, isCurrent: (x) => connection.client === x });
      pump?.connected(c);
    },
    onMessage: (topic, payload) => {
      try {
        opts.onMessage?.(topic, payload);
      } catch (err) {
        logger.error({ topic, ...errorFields(err) }, 'MQTT message handler threw');
      }
    },
    onFirstOutcome: () => resolveFirstOutcome(),
  });

  const { publishNow, publishAcked, enqueue } = createSender(connection, outbox, pump, logger);

  const tick = metricsTick(opts, connection, { publishNow, enqueue }, snapshot, skipped);

  function start(): Promise<void> {
    if (startPromise) return startPromise;
    if (phase === 'stopped') return Promise.resolve();
    phase = 'running';
    metricsTimer = setInterval(tick, opts.intervalMs);
    metricsTimer.unref();
    logger.info({ url: safeUrl, storeId: opts.storeId, deviceId: opts.deviceId, intervalMs: opts.intervalMs }, 'telemetry agent starting');
    connection.start();
    startPromise = Promise.race([firstOutcome, delay(opts.startTimeoutMs ?? 3_000)]);
    return startPromise;
  }

  function stop(): Promise<void> {
    stopPromise ??= (async () => {
      phase = 'stopped';
      clearInterval(metricsTimer);
      resolveFirstOutcome();
      const live = connection.stop();
      if (live === undefined) return;
      const graceful = await sayGoodbye(live.client, topics.status, status('offline', live.seq, 'shutdown'), stopTimeoutMs, logger);
      logger.info({ connectionSeq: live.seq, graceful }, 'MQTT client closed; telemetry agent stopped');
    })().catch((err: unknown) => {
      logger.error(errorFields(err), 'telemetry agent stop failed');
    });
    return stopPromise;
  }

  return {
    start,
    stop,
    get connected() {
      return connection.connected;
    },
    get connectionSeq() {
      return connection.seq;
    },
    enqueue,
    publishNow,
    publishAcked,
    outboxStats: () => outbox?.stats() ?? null,
    health: () => telemetryHealth(phase === 'running', connection, outbox),
  };
}

function defaultSystemSampler(): () => SystemMetrics | undefined {
  const sampler = createSystemSampler();
  return () => sampler.sample();
}

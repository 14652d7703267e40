/**
 * The mirror's MQTT presence: birth, last will, periodic metrics, graceful offline.
 *
 * One MQTT.js client per connection attempt, with MQTT.js's own reconnect switched off:
 *  - the last will is fixed in the CONNECT packet, and every connection needs its own
 *    `connectionSeq` in it (Sparkplug's lesson), so each attempt builds a fresh CONNECT;
 *  - reconnects use jittered exponential backoff (`reconnectDelayMs`) instead of MQTT.js's fixed
 *    period, so a store (or broker) outage does not make every mirror reconnect in the same second;
 *  - MQTT.js's in-memory offline queue is never used (it is unbounded). With an `outbox` (the
 *    daemon always gives one), metrics, events and update states are appended to the on-disk
 *    outbox, drained in order on every `connect` with a bounded window in flight, and a record is
 *    deleted on its PUBACK (QoS 1, see `CHANNELS.telemetry`); `msgId` makes redelivery harmless.
 *    Without one, a metrics interval while disconnected is skipped and counted.
 *  - `subscriptions` are (re)subscribed on every connection (clean sessions), and their messages
 *    go to `onMessage`: the update agent's offers and chunks arrive that way.
 *
 * Nothing here throws into the daemon: timers and client events catch and log. `start()` never
 * waits longer than `startTimeoutMs`, so a dead broker never holds up the mirror.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import type { StatsSnapshot } from '../core/pipeline-stats.ts';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { CHANNELS, isValidId, statusTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { encodeMessage, type MetricsMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { errorFields, redactUrl, type TelemetryLogger } from './logger.ts';
import type { Outbox, OutboxKind, OutboxStats } from './outbox.ts';
import { createSystemSampler, type SystemMetrics } from './system-metrics.ts';

export type { TelemetryLogger } from './logger.ts';

/**
 * What the pipeline reports (its rolling numbers; drop and frame counts are totals since start);
 * the agent adds ids, timestamps, uptime, memory and CPU.
 */
export interface MetricsSnapshot extends Pick<StatsSnapshot, 'fps' | 'latencyP50Ms' | 'latencyP95Ms' | 'droppedFrames' | 'processedFrames'> {
  /** Inference backend per model, e.g. `{ mesh: 'onnx-cpu' }`. */
  backends: Record<string, string>;
  /** Model name → version. */
  models: Record<string, string>;
  /** Optional extras carried as they are (see MetricsMessageSchema). */
  update?: MetricsMessage['update'];
  sessions?: MetricsMessage['sessions'];
}

export interface BackoffOptions {
  /** Upper bound of the first retry delay. */
  initialMs: number;
  /** Upper bound of any retry delay. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000 };

export interface TelemetryAgentOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` broker URL. */
  url: string;
  storeId: string;
  deviceId: string;
  firmwareVersion: string;
  /** Metrics period. */
  intervalMs: number;
  /** Where `mqtt-connection-seq` is kept (created if missing). */
  stateDir: string;
  snapshot: () => MetricsSnapshot;
  logger: TelemetryLogger;
  username?: string;
  password?: string;
  /** TLS material, PEM (contents, not paths). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default `{storeId}:{deviceId}` (`:` cannot occur in an id, so it is unambiguous). */
  clientId?: string;
  /** How long `start()` may wait for the first connection; default 3000 ms. */
  startTimeoutMs?: number;
  /** How long `stop()` waits for the broker to acknowledge the offline status; default 2000 ms. */
  stopTimeoutMs?: number;
  /** CONNECT → CONNACK limit per attempt; default 10 000 ms. */
  connectTimeoutMs?: number;
  /** MQTT keepalive in seconds; default 30. */
  keepaliveS?: number;
  reconnect?: Partial<BackoffOptions>;
  /** A connection that lasted this long resets the backoff; default 30 000 ms. */
  stableAfterMs?: number;
  /** For tests of the backoff; default `Math.random`. */
  random?: () => number;
  /** Durable store-and-forward for metrics, events and update states. */
  outbox?: Outbox;
  /** Records in flight (sent, not yet acknowledged) while draining the outbox; default 32. */
  outboxWindow?: number;
  /** Topic filters subscribed (QoS 1) on every connection. */
  subscriptions?: string[];
  /** Messages on `subscriptions`; exceptions are caught and logged. */
  onMessage?: (topic: string, payload: Buffer) => void;
  /** Called after every successful connection (and its subscriptions). */
  onConnect?: () => void;
  /**
   * The machine's health, sent as `system` in every metrics message (whole-machine CPU, load,
   * memory, temperatures, GPU where readable). Default: a sampler over this host's /proc and /sys
   * (system-metrics.ts); `false`: none. Exceptions and invalid readings only cost the `system` field.
   */
  systemMetrics?: (() => SystemMetrics | undefined) | false;
}

export interface TelemetryAgent {
  /** Resolves once connected, after the first failed attempt, or after `startTimeoutMs`; never rejects. */
  start(): Promise<void>;
  /** Publishes the retained offline status (reason `shutdown`) if connected, then disconnects. Never rejects. */
  stop(): Promise<void>;
  readonly connected: boolean;
  /** The `connectionSeq` of the current (or last) connection attempt; -1 before the first. */
  readonly connectionSeq: number;
  /**
   * Durable send: appended to the outbox (published when the broker acknowledges it, across
   * outages and restarts). Without an outbox: published now if connected, else dropped (false).
   */
  enqueue(kind: OutboxKind, topic: string, payload: Buffer): boolean;
  /** Best-effort send now (QoS 1) on the current connection; false when disconnected. */
  publishNow(topic: string, payload: Buffer): boolean;
  outboxStats(): OutboxStats | null;
}

export const CONNECTION_SEQ_FILE = 'mqtt-connection-seq';
const MIN_DELAY_MS = 100;

/**
 * Full-jitter exponential backoff (the variant that spreads a herd best): a uniform delay in
 * [100 ms, min(maxMs, initialMs * 2^attempt)]. `attempt` counts failures since the last stable
 * connection, from 0.
 */
export function reconnectDelayMs(
  attempt: number,
  backoff: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exp = Math.min(Math.max(0, attempt), 30);
  const ceiling = Math.max(MIN_DELAY_MS, Math.min(backoff.maxMs, backoff.initialMs * 2 ** exp));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(MIN_DELAY_MS + r * (ceiling - MIN_DELAY_MS));
}

export interface ConnectionSeqStore {
  /** The next sequence number, persisted (atomically) before it is returned. */
  next(): Promise<number>;
}

/**
 * A counter that only grows, across restarts. Unreadable or corrupt state continues from the
 * wall clock in ms, which is larger than any count reached by incrementing, so a value already
 * used is never handed out again. A write that fails is logged and the counter carries on in memory.
 */
export function createConnectionSeqStore(stateDir: string, logger: TelemetryLogger): ConnectionSeqStore {
  const file = path.join(stateDir, CONNECTION_SEQ_FILE);
  let last: number | undefined;

  async function load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      logger.warn({ file, ...errorFields(err) }, 'connectionSeq file unreadable; continuing from the clock');
      return Date.now();
    }
    const n = Number(text.trim());
    if (text.trim() !== '' && Number.isSafeInteger(n) && n >= 0) return n;
    logger.warn({ file }, 'connectionSeq file corrupt; continuing from the clock');
    return Date.now();
  }

  const persist = (value: number) => writeFileAtomic(file, `${value}\n`);

  return {
    async next() {
      last ??= await load();
      last += 1;
      try {
        await persist(last);
      } catch (err) {
        logger.error({ file, ...errorFields(err) }, 'could not persist connectionSeq; continuing in memory');
      }
      return last;
    },
  };
}

const BROKER_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:']);

function finiteOr0(n: number): number {
  return Number.isFinite(n) ? n : 0;
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

/** Throws a TypeError for bad options (a config error, reported at daemon start). */
export function createTelemetryAgent(opts: TelemetryAgentOptions): TelemetryAgent {
  const { logger } = opts;
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

  const addr = { storeId: opts.storeId, deviceId: opts.deviceId };
  const topics = { status: statusTopic(addr), telemetry: telemetryTopic(addr) };
  const safeUrl = redactUrl(opts.url);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.reconnect };
  const random = opts.random ?? Math.random;
  const stableAfterMs = opts.stableAfterMs ?? 30_000;
  const startTimeoutMs = opts.startTimeoutMs ?? 3_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 2_000;
  const seqStore = createConnectionSeqStore(opts.stateDir, logger);
  const cpuCount = Math.max(1, os.availableParallelism());

  let phase: 'idle' | 'running' | 'stopped' = 'idle';
  let client: MqttClient | undefined;
  let clientSeq = -1;
  let connected = false;
  let connectedAt = 0;
  let attempt = 0;
  let lastError: unknown;
  let skippedIntervals = 0;
  let lastMetricsProblem = '';
  let reconnectTimer: NodeJS.Timeout | undefined;
  let metricsTimer: NodeJS.Timeout | undefined;
  let startPromise: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;
  let resolveFirstOutcome: () => void = () => {};
  const firstOutcome = new Promise<void>((resolve) => {
    resolveFirstOutcome = resolve;
  });
  /** The last good snapshot's maps, for a status built while snapshot() throws. */
  let lastKnown: Pick<MetricsSnapshot, 'models' | 'backends'> = { models: {}, backends: {} };
  let cpuMark = { usage: process.cpuUsage(), at: process.hrtime.bigint() };
  const systemMetrics =
    opts.systemMetrics === false
      ? undefined
      : (opts.systemMetrics ??
        (() => {
          const sampler = createSystemSampler();
          return () => sampler.sample();
        })());
  let lastSystemProblem = '';
  const outbox = opts.outbox;
  const outboxWindow = Math.max(1, opts.outboxWindow ?? 32);
  /** Drain cursor of the current connection: the last outbox id sent on it. */
  let sentUpTo = 0;
  let inFlight = 0;
  let lastDrainError = '';

  function safeSnapshot(): MetricsSnapshot | undefined {
    try {
      return opts.snapshot();
    } catch (err) {
      logger.error(errorFields(err), 'telemetry snapshot() threw; skipping');
      return undefined;
    }
  }

  function statusPayload(state: StatusMessage['state'], seq: number, reason?: string): Buffer | undefined {
    const snap = safeSnapshot();
    if (snap) lastKnown = { models: snap.models, backends: snap.backends };
    const msg: StatusMessage = {
      v: 1,
      state,
      deviceId: opts.deviceId,
      storeId: opts.storeId,
      connectionSeq: seq,
      ts: Date.now(),
      firmwareVersion: opts.firmwareVersion,
      models: { ...lastKnown.models },
      backends: { ...lastKnown.backends },
      ...(reason === undefined ? {} : { reason }),
      ...(snap?.update ? { update: snap.update } : {}),
    };
    let enc = encodeMessage('status', msg);
    if (!enc.ok) {
      logger.error({ field: enc.field, error: enc.error }, 'status message failed validation; sending it without model maps');
      // A bad model name from the pipeline must not cost the mirror its birth or its will.
      enc = encodeMessage('status', { ...msg, models: {}, backends: {} });
      if (!enc.ok) return undefined;
    }
    return enc.payload;
  }

  async function connectOnce(): Promise<void> {
    try {
      if (phase !== 'running') return;
      const seq = await seqStore.next();
      if (phase !== 'running') return;
      // Options were checked at construction, so this cannot fail in practice; connecting
      // without a will would silently lose offline detection, so refuse loudly instead.
      const will = statusPayload('offline', seq, 'connection-lost');
      if (will === undefined) throw new Error('cannot build the last-will status message');
      const options: IClientOptions = {
        clientId: opts.clientId ?? `${opts.storeId}:${opts.deviceId}`,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: opts.connectTimeoutMs ?? 10_000,
        keepalive: opts.keepaliveS ?? 30,
        queueQoSZero: false,
        will: { topic: topics.status, payload: will, qos: CHANNELS.status.qos, retain: CHANNELS.status.retain },
        ...(opts.username === undefined ? {} : { username: opts.username }),
        ...(opts.password === undefined ? {} : { password: opts.password }),
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        ...(opts.cert === undefined ? {} : { cert: opts.cert }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
      };
      clientSeq = seq;
      lastError = undefined;
      const c = mqtt.connect(opts.url, options);
      client = c;
      // An 'error' listener must always exist: an unhandled 'error' event would crash the daemon.
      c.on('error', (err) => {
        if (client === c) lastError = err;
      });
      c.on('connect', () => {
        if (client !== c || phase !== 'running') return;
        connected = true;
        connectedAt = Date.now();
        logger.info(
          { url: safeUrl, connectionSeq: seq, ...(skippedIntervals > 0 ? { skippedIntervals } : {}) },
          'MQTT connected',
        );
        skippedIntervals = 0;
        const birth = statusPayload('online', seq);
        if (birth !== undefined) {
          c.publish(topics.status, birth, { qos: CHANNELS.status.qos, retain: CHANNELS.status.retain }, (err) => {
            if (err) logger.warn({ connectionSeq: seq, ...errorFields(err) }, 'MQTT birth publish failed');
          });
        }
        sentUpTo = 0;
        inFlight = 0;
        const subs = opts.subscriptions ?? [];
        if (subs.length > 0) {
          c.subscribe(subs, { qos: 1 }, (err, granted) => {
            // A broker ACL answers a forbidden filter with 0x80 in the SUBACK, not with an error.
            const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
            if (refused.length > 0) logger.error({ refused }, 'MQTT subscription refused by the broker (ACL? check the certificate CN or username)');
            if (err) logger.warn({ subscriptions: subs, ...errorFields(err) }, 'MQTT subscribe failed');
            else if (client === c) notifyConnect();
          });
        } else {
          notifyConnect();
        }
        drain();
        resolveFirstOutcome();
      });
      c.on('message', (topic, payload) => {
        if (client !== c || !opts.onMessage) return;
        try {
          opts.onMessage(topic, payload);
        } catch (err) {
          logger.error({ topic, ...errorFields(err) }, 'MQTT message handler threw');
        }
      });
      c.on('close', () => {
        if (client !== c) return;
        const wasConnected = connected;
        connected = false;
        client = undefined;
        c.end(true); // release MQTT.js's timers and stores; the socket is already gone
        if (phase !== 'running') return;
        if (wasConnected && Date.now() - connectedAt >= stableAfterMs) attempt = 0;
        const cause = lastError === undefined ? {} : errorFields(lastError);
        scheduleReconnectLogged(wasConnected ? 'MQTT connection lost' : 'MQTT connect failed', { connectionSeq: seq, ...cause });
        resolveFirstOutcome();
      });
    } catch (err) {
      logger.error(errorFields(err), 'MQTT connect attempt failed');
      client = undefined;
      connected = false;
      scheduleReconnectLogged('MQTT connect attempt failed', {});
      resolveFirstOutcome();
    }
  }

  function scheduleReconnectLogged(msg: string, fields: object): void {
    if (phase !== 'running') return;
    const wait = reconnectDelayMs(attempt, backoff, random);
    // warn, not error: a broker outage is an expected state for an offline-first mirror.
    logger.warn({ url: safeUrl, attempt: attempt + 1, retryInMs: wait, ...fields }, `${msg}; retrying`);
    attempt += 1;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connectOnce();
    }, wait);
    reconnectTimer.unref();
  }

  function sampleCpu(): number {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage();
    const wallUs = Number(now - cpuMark.at) / 1_000;
    const cpuUs = usage.user - cpuMark.usage.user + (usage.system - cpuMark.usage.system);
    cpuMark = { usage, at: now };
    if (wallUs <= 0) return 0;
    return Math.min(1, Math.max(0, cpuUs / (wallUs * cpuCount)));
  }

  function sampleSystem(): SystemMetrics | undefined {
    if (!systemMetrics) return undefined;
    try {
      const s = systemMetrics();
      return s !== undefined && Object.keys(s).length > 0 ? s : undefined;
    } catch (err) {
      if (lastSystemProblem !== 'threw') logger.warn(errorFields(err), 'system metrics sampler threw; sending metrics without them');
      lastSystemProblem = 'threw';
      return undefined;
    }
  }

  function outboxSummary(): NonNullable<MetricsMessage['outbox']> {
    const st = outbox!.stats();
    return { pending: st.pending, droppedTelemetry: st.dropped.telemetry, droppedEvents: st.dropped.event + st.dropped.update };
  }

  function notifyConnect(): void {
    try {
      opts.onConnect?.();
    } catch (err) {
      logger.error(errorFields(err), 'MQTT onConnect handler threw');
    }
  }

  /**
   * Sends outbox records in id order, at most `outboxWindow` unacknowledged. One connection keeps
   * MQTT's order; a new connection starts again from the oldest record not yet acknowledged.
   */
  function drain(): void {
    const c = client;
    if (!outbox || !connected || c === undefined) return;
    try {
      while (inFlight < outboxWindow) {
        const batch = outbox.after(sentUpTo, outboxWindow - inFlight);
        if (batch.length === 0) return;
        for (const rec of batch) {
          sentUpTo = rec.id;
          inFlight += 1;
          c.publish(rec.topic, rec.payload, { qos: 1, retain: false }, (err) => {
            if (!err) {
              // Acknowledged by the broker: deleting is right whichever connection sent it.
              try {
                outbox.delete(rec.id);
              } catch (e) {
                logger.error(errorFields(e), 'outbox delete failed');
              }
            }
            if (client !== c) return;
            inFlight -= 1;
            if (err && lastDrainError !== err.message) {
              lastDrainError = err.message;
              logger.warn({ id: rec.id, ...errorFields(err) }, 'outbox publish failed; it is sent again on the next connection');
            }
            drain();
          });
        }
      }
    } catch (err) {
      logger.error(errorFields(err), 'outbox drain failed');
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
    drain();
    return true;
  }

  function publishNow(topic: string, payload: Buffer): boolean {
    const c = client;
    if (!connected || c === undefined) return false;
    c.publish(topic, payload, { qos: 1, retain: false }, (err) => {
      if (err) logger.warn({ topic, ...errorFields(err) }, 'MQTT publish failed');
    });
    return true;
  }

  /** Metrics go through the outbox; without one: publish when connected, otherwise skip and count. */
  function deliverMetrics(payload: Buffer): void {
    if (outbox) {
      enqueue('telemetry', topics.telemetry, payload);
      return;
    }
    const c = client;
    if (!connected || c === undefined) {
      skippedIntervals += 1;
      return;
    }
    c.publish(topics.telemetry, payload, { qos: CHANNELS.telemetry.qos, retain: CHANNELS.telemetry.retain }, (err) => {
      if (err) logger.warn(errorFields(err), 'MQTT metrics publish failed');
    });
  }

  function tick(): void {
    try {
      const cpuLoad = sampleCpu();
      // Sampled every interval (also while offline) so the whole-machine CPU share covers one interval.
      const system = sampleSystem();
      if (!connected && !outbox) {
        // No outbox: do not even take a snapshot we would throw away.
        skippedIntervals += 1;
        return;
      }
      const snap = safeSnapshot();
      if (snap === undefined) return;
      lastKnown = { models: snap.models, backends: snap.backends };
      const msg: MetricsMessage = {
        v: 1,
        msgId: randomUUID(),
        deviceId: opts.deviceId,
        ts: Date.now(),
        intervalS: opts.intervalMs / 1000,
        // No frames yet gives NaN percentiles in some counters: report 0 rather than lose the message.
        fps: finiteOr0(snap.fps),
        latencyP50Ms: finiteOr0(snap.latencyP50Ms),
        latencyP95Ms: finiteOr0(snap.latencyP95Ms),
        droppedFrames: finiteOr0(snap.droppedFrames),
        processedFrames: finiteOr0(snap.processedFrames),
        backends: { ...snap.backends },
        models: { ...snap.models },
        uptimeS: process.uptime(),
        rssBytes: process.memoryUsage.rss(),
        cpuLoad,
        ...(snap.update ? { update: snap.update } : {}),
        ...(snap.sessions ? { sessions: snap.sessions } : {}),
        ...(outbox ? { outbox: outboxSummary() } : {}),
        ...(system ? { system } : {}),
      };
      let enc = encodeMessage('metrics', msg);
      if (!enc.ok && system && enc.field.startsWith('system')) {
        // A sensor reading nonsense must not cost the fleet the pipeline's metrics.
        if (enc.error !== lastSystemProblem) {
          logger.warn({ field: enc.field, error: enc.error }, 'system metrics failed validation; sent without them');
          lastSystemProblem = enc.error;
        }
        const { system: _dropped, ...rest } = msg;
        enc = encodeMessage('metrics', rest);
      }
      if (!enc.ok) {
        if (enc.error !== lastMetricsProblem) {
          logger.error({ field: enc.field, error: enc.error }, 'metrics snapshot failed validation; interval skipped');
          lastMetricsProblem = enc.error;
        }
        return;
      }
      lastMetricsProblem = '';
      deliverMetrics(enc.payload);
    } catch (err) {
      logger.error(errorFields(err), 'telemetry metrics tick failed');
    }
  }

  function start(): Promise<void> {
    if (startPromise) return startPromise;
    if (phase === 'stopped') return Promise.resolve();
    phase = 'running';
    metricsTimer = setInterval(tick, opts.intervalMs);
    metricsTimer.unref();
    logger.info(
      { url: safeUrl, storeId: opts.storeId, deviceId: opts.deviceId, intervalMs: opts.intervalMs },
      'telemetry agent starting',
    );
    void connectOnce();
    startPromise = Promise.race([firstOutcome, delay(startTimeoutMs)]);
    return startPromise;
  }

  function stop(): Promise<void> {
    stopPromise ??= (async () => {
      phase = 'stopped';
      clearInterval(metricsTimer);
      clearTimeout(reconnectTimer);
      resolveFirstOutcome();
      const c = client;
      const wasConnected = connected;
      client = undefined;
      connected = false;
      if (c === undefined) return;
      if (!wasConnected) {
        c.end(true);
        return;
      }
      let acked = false;
      const offline = statusPayload('offline', clientSeq, 'shutdown');
      if (offline !== undefined) {
        try {
          await withTimeout(
            c.publishAsync(topics.status, offline, { qos: CHANNELS.status.qos, retain: CHANNELS.status.retain }),
            stopTimeoutMs,
            'offline status publish',
          );
          acked = true;
        } catch (err) {
          logger.warn(errorFields(err), 'MQTT offline status not acknowledged; the broker will publish the last will');
        }
      }
      try {
        // A clean DISCONNECT makes the broker discard the will: the shutdown status stands.
        // Without the ack, close abruptly so the will (offline, connection-lost) is what remains.
        await withTimeout(c.endAsync(!acked), stopTimeoutMs, 'MQTT disconnect');
      } catch (err) {
        logger.warn(errorFields(err), 'MQTT disconnect did not complete; closing the socket');
        c.end(true);
      }
      logger.info({ connectionSeq: clientSeq, graceful: acked }, 'telemetry agent stopped');
    })().catch((err: unknown) => {
      logger.error(errorFields(err), 'telemetry agent stop failed');
    });
    return stopPromise;
  }

  return {
    start,
    stop,
    get connected() {
      return connected;
    },
    get connectionSeq() {
      return clientSeq;
    },
    enqueue,
    publishNow,
    outboxStats: () => outbox?.stats() ?? null,
  };
}

/**
 * One MQTT.js client per connection attempt, with MQTT.js's own reconnect switched off:
 *  - the last will is fixed in the CONNECT packet, and every connection needs its own
 *    `connectionSeq` in it (Sparkplug's lesson), so each attempt builds a fresh CONNECT;
 *  - reconnects use full-jitter exponential backoff (core/backoff.ts) instead of MQTT.js's fixed
 *    period, so a store (or broker) outage does not make every mirror reconnect in the same second;
 *  - MQTT.js's in-memory offline queue is never used (it is unbounded): callers publish only
 *    while connected, and the outbox keeps what must survive an outage.
 * Client events are caught and logged: nothing here throws into the daemon.
 *
 * Length: createMqttConnection (~120 lines) is a factory of nine functions (the longest 44 lines)
 * sharing one attempt's client, timer and backoff state.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { backoffDelayMs, type BackoffPolicy } from '../core/backoff.ts';
import { CHANNELS } from '../../fleet/protocol/topics.ts';
import type { ConnectionSeqStore } from './connection-seq.ts';
import { errorFields, type TelemetryLogger } from './logger.ts';

export interface ConnectionOptions {
  url: string;
  /** For log lines: the URL without credentials. */
  safeUrl: string;
  statusTopic: string;
  /** The will for a connection, built with its sequence number. */
  will: (seq: number) => Buffer | undefined;
  seqStore: ConnectionSeqStore;
  /** Everything MQTT.js needs besides the will and the reconnect policy. */
  client: Pick<IClientOptions, 'clientId' | 'username' | 'password' | 'ca' | 'cert' | 'key' | 'connectTimeout' | 'keepalive'>;
  backoff: BackoffPolicy;
  random: () => number;
  /** A connection that lasted this long resets the backoff. */
  stableAfterMs: number;
  logger: TelemetryLogger;
  /** A connection is up (CONNACK received). */
  onConnect: (client: MqttClient, seq: number) => void;
  onMessage: (topic: string, payload: Buffer) => void;
  /** The first attempt has an outcome (connected or failed). */
  onFirstOutcome: () => void;
}

export interface MqttConnection {
  start(): void;
  /** Stops reconnecting; returns the live client (if connected) for a graceful goodbye. */
  stop(): { client: MqttClient; seq: number } | undefined;
  readonly client: MqttClient | undefined;
  readonly connected: boolean;
  readonly seq: number;
  /** Why the last attempt failed or the last connection ended, until a connection succeeds. */
  readonly lastError: string | undefined;
}

export function createMqttConnection(o: ConnectionOptions): MqttConnection {
  const { logger } = o;
  let running = false;
  let client: MqttClient | undefined;
  let seq = -1;
  let connected = false;
  let connectedAt = 0;
  let attempt = 0;
  let lastError: unknown;
  let lastFailure: string | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  function scheduleReconnect(msg: string, fields: object): void {
    if (!running) return;
    const wait = backoffDelayMs(attempt, o.backoff, o.random);
    // warn, not error: a broker outage is an expected state for an offline-first mirror.
    logger.warn({ url: o.safeUrl, attempt: attempt + 1, retryInMs: wait, ...fields }, `${msg}; retrying`);
    attempt += 1;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connectOnce();
    }, wait);
    reconnectTimer.unref();
  }

  function onClose(c: MqttClient, s: number): void {
    if (client !== c) return;
    const wasConnected = connected;
    connected = false;
    client = undefined;
    c.end(true); // release MQTT.js's timers and stores; the socket is already gone
    if (!running) return;
    if (wasConnected && Date.now() - connectedAt >= o.stableAfterMs) attempt = 0;
    const cause = lastError === undefined ? {} : errorFields(lastError);
    // For health, kept until a connection succeeds: MQTT.js does not always emit an error first.
    lastFailure = lastError === undefined ? (wasConnected ? 'connection lost' : 'connection closed before CONNACK') : errorFields(lastError).err.message;
    scheduleReconnect(wasConnected ? 'MQTT connection lost' : 'MQTT connect failed', { connectionSeq: s, ...cause });
    o.onFirstOutcome();
  }

  async function connectOnce(): Promise<void> {
    try {
      if (!running) return;
      const s = await o.seqStore.next();
      if (!running) return;
      // Connecting without a will would silently lose offline detection, so refuse loudly instead.
      const will = o.will(s);
      if (will === undefined) throw new Error('cannot build the last-will status message');
      seq = s;
      lastError = undefined;
      const c = mqtt.connect(o.url, {
        ...o.client,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
        queueQoSZero: false,
        will: { topic: o.statusTopic, payload: will, qos: CHANNELS.status.qos, retain: CHANNELS.status.retain },
      });
      client = c;
      // An 'error' listener must always exist: an unhandled 'error' event would crash the daemon.
      c.on('error', (err) => {
        if (client === c) lastError = err;
      });
      c.on('connect', () => {
        if (client !== c || !running) return;
        connected = true;
        connectedAt = Date.now();
        lastFailure = undefined;
        o.onConnect(c, s);
        o.onFirstOutcome();
      });
      c.on('message', (topic, payload) => {
        if (client === c) o.onMessage(topic, payload);
      });
      c.on('close', () => onClose(c, s));
    } catch (err) {
      logger.error(errorFields(err), 'MQTT connect attempt failed');
      lastFailure = errorFields(err).err.message;
      client = undefined;
      connected = false;
      scheduleReconnect('MQTT connect attempt failed', {});
      o.onFirstOutcome();
    }
  }

  return {
    start() {
      running = true;
      void connectOnce();
    },
    stop() {
      running = false;
      clearTimeout(reconnectTimer);
      const c = client;
      const wasConnected = connected;
      client = undefined;
      connected = false;
      if (c === undefined) return undefined;
      if (!wasConnected) {
        c.end(true);
        return undefined;
      }
      return { client: c, seq };
    },
    get client() {
      return connected ? client : undefined;
    },
    get connected() {
      return connected;
    },
    get seq() {
      return seq;
    },
    get lastError() {
      return connected ? undefined : lastFailure;
    },
  };
}

/** The telemetry agent's public interface and options (implementation: mqtt-agent.ts). */
import type { BackoffPolicy } from '../core/backoff.ts';
import type { DegradedStep } from '../core/degraded.ts';
import type { StatsSnapshot } from '../core/pipeline-stats.ts';
import type { MetricsMessage } from '../../fleet/protocol/schemas.ts';
import type { TelemetryLogger } from './logger.ts';
import type { Outbox, OutboxKind, OutboxStats } from './outbox.ts';
import type { SystemMetrics } from './system-metrics.ts';

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
  catalog?: MetricsMessage['catalog'];
  colourProfile?: MetricsMessage['colourProfile'];
  /** Parts on a fallback (the daemon's degradation ladder), for the metrics message to carry. */
  degraded?: DegradedStep[];
}

/** Reconnect delays: full jitter between 100 ms and min(maxMs, initialMs * 2^attempt). */
export const DEFAULT_RECONNECT: Omit<BackoffPolicy, 'jitter'> = { initialMs: 1_000, maxMs: 60_000 };

export interface TelemetryAgentOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` broker URL. */
  url: string;
  storeId: string;
  deviceId: string;
  firmwareVersion: string;
  /** Metrics period in milliseconds. */
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
  reconnect?: Partial<typeof DEFAULT_RECONNECT>;
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

/** What /healthz shows about telemetry: `degraded` names each reason the mirror runs degraded. */
export interface TelemetryHealth {
  connected: boolean;
  /** e.g. `broker-unreachable`, `outbox-write-failing`, `outbox-full`. */
  degraded: string[];
  /** Why the broker cannot be reached, while it cannot. */
  brokerError?: string;
  outbox: OutboxStats | null;
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
  /** Send now (QoS 1) and wait for the broker's PUBACK: true once it has the message, false when disconnected, failed or past `timeoutMs`. */
  publishAcked(topic: string, payload: Buffer, timeoutMs: number): Promise<boolean>;
  outboxStats(): OutboxStats | null;
  health(): TelemetryHealth;
}

/**
 * The fleet store's row types (what the repositories return) and the mapping from SQL rows: one
 * place, shared by every repository. JSON columns are TEXT in both dialects.
 */
import type { SystemMetricsMessage } from '../../protocol/schemas.ts';
import type { Artifact } from '../../protocol/update.ts';
import { num, numOrNull, type Row } from './driver.ts';

export type Role = 'admin' | 'operator' | 'manager';
export const ROLES: readonly Role[] = ['admin', 'operator', 'manager'];

export interface DeviceRow {
  storeId: string;
  deviceId: string;
  state: 'online' | 'offline' | 'unknown';
  connectionSeq: number;
  stateReason: string | null;
  firmwareVersion: string | null;
  models: Record<string, string>;
  backends: Record<string, string>;
  tags: string[];
  firstSeen: number;
  lastSeen: number;
  statusAt: number | null;
  metricsAt: number | null;
  fps: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  droppedFrames: number | null;
  processedFrames: number | null;
  uptimeS: number | null;
  rssBytes: number | null;
  cpuLoad: number | null;
  /** The latest metrics message's `system` (CPU, load, memory, temperatures, GPU), when it had one. */
  system: SystemMetricsMessage | null;
  /** The latest metrics message's `degraded` list (parts running on a fallback), when it had one. */
  degraded: DegradedPart[] | null;
}

export interface DegradedPart {
  component: string;
  reason: string;
  since: string;
}

export interface UserRow {
  username: string;
  role: Role;
  storeId: string | null;
  passwordHash: string;
  createdAt: number;
  createdBy: string;
}

export interface AuditRow {
  id: string;
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
}

export interface ArtifactRow extends Artifact {
  file: string;
  uploadedBy: string;
  uploadedAt: number;
}

export type RolloutStatus = 'running' | 'paused' | 'completed' | 'aborted' | 'rolled-back';

export interface RolloutRow {
  id: string;
  artifactId: string;
  selector: unknown;
  status: RolloutStatus;
  statusReason: string | null;
  options: unknown;
  wave: number;
  waves: number;
  resumedWave: number;
  targets: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** Server-side view of one device's job (the device's own state is in `state`). */
export type JobOutcome =
  | 'pending' // its wave has not opened
  | 'queued' // wave open, device offline: offered on its next birth
  | 'offered'
  | 'in-progress'
  | 'committed' // device says committed; waiting for its telemetry to show the version serving
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  | 'cancelled'
  | 'skipped';

export interface JobRow {
  jobId: string;
  rolloutId: string;
  storeId: string;
  deviceId: string;
  artifactId: string;
  wave: number;
  outcome: JobOutcome;
  state: string | null;
  reason: string | null;
  offeredAt: number | null;
  updatedAt: number;
  received: number | null;
  servingVersion: string | null;
}

export interface StoreScope {
  /** Only this store (a manager); undefined = every store. */
  storeId?: string;
}

export const json = (v: unknown): string => JSON.stringify(v ?? null);
export function parseJson<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}
export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toDevice(r: Row): DeviceRow {
  return {
    storeId: String(r.store_id),
    deviceId: String(r.device_id),
    state: String(r.state) as DeviceRow['state'],
    connectionSeq: num(r.connection_seq),
    stateReason: str(r.state_reason),
    firmwareVersion: str(r.firmware_version),
    models: parseJson(r.models, {}),
    backends: parseJson(r.backends, {}),
    tags: parseJson(r.tags, []),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    statusAt: numOrNull(r.status_at),
    metricsAt: numOrNull(r.metrics_at),
    fps: numOrNull(r.fps),
    latencyP50Ms: numOrNull(r.latency_p50_ms),
    latencyP95Ms: numOrNull(r.latency_p95_ms),
    droppedFrames: numOrNull(r.dropped_frames),
    processedFrames: numOrNull(r.processed_frames),
    uptimeS: numOrNull(r.uptime_s),
    rssBytes: numOrNull(r.rss_bytes),
    cpuLoad: numOrNull(r.cpu_load),
    system: parseJson<SystemMetricsMessage | null>(r.system_metrics, null),
    degraded: parseJson<DegradedPart[] | null>(r.degraded, null),
  };
}

export function toJob(r: Row): JobRow {
  return {
    jobId: String(r.job_id),
    rolloutId: String(r.rollout_id),
    storeId: String(r.store_id),
    deviceId: String(r.device_id),
    artifactId: String(r.artifact_id),
    wave: num(r.wave),
    outcome: String(r.outcome) as JobOutcome,
    state: str(r.state),
    reason: str(r.reason),
    offeredAt: numOrNull(r.offered_at),
    updatedAt: num(r.updated_at),
    received: numOrNull(r.received),
    servingVersion: str(r.serving_version),
  };
}

export function toRollout(r: Row): RolloutRow {
  return {
    id: String(r.id),
    artifactId: String(r.artifact_id),
    selector: parseJson(r.selector, {}),
    status: String(r.status) as RolloutStatus,
    statusReason: str(r.status_reason),
    options: parseJson(r.options, {}),
    wave: num(r.wave),
    waves: num(r.waves),
    resumedWave: num(r.resumed_wave),
    targets: num(r.targets),
    createdBy: String(r.created_by),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toArtifact(r: Row): ArtifactRow {
  return {
    id: String(r.id),
    kind: String(r.kind) as Artifact['kind'],
    name: String(r.name),
    version: String(r.version),
    size: num(r.size),
    sha256: String(r.sha256),
    signature: String(r.signature),
    keyId: String(r.key_id),
    // Only a signed rollback has one; absent (not null) otherwise, as the signature covers it.
    ...(r.rollback_from === null || r.rollback_from === undefined ? {} : { rollbackFrom: String(r.rollback_from) }),
    file: String(r.file),
    uploadedBy: String(r.uploaded_by),
    uploadedAt: num(r.uploaded_at),
  };
}

export const inList = (xs: readonly string[]) => xs.map(() => '?').join(', ');

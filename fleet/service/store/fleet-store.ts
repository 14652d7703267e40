/**
 * Everything the fleet service keeps, as queries over one `SqlDriver` (SQLite or PostgreSQL).
 * Ingest methods are idempotent: a message whose msgId was seen before changes nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  knownEvent,
  shouldApplyStatus,
  type EventMessage,
  type EventType,
  type MetricsMessage,
  type StatusMessage,
  type SystemMetricsMessage,
} from '../../protocol/schemas.ts';
import { blocksArtifact, type Artifact } from '../../protocol/update.ts';
import { MAX_CLOCK_AHEAD_MS, orderingTs } from '../clock.ts';
import { DeadLetterRepo } from './dead-letter-repo.ts';
import { num, numOrNull, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';

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

export interface StoreStats {
  storeId: string;
  from: number;
  to: number;
  sessions: number;
  dwell: { totalMs: number; avgMs: number | null; maxMs: number | null };
  productsTried: Array<{ productId: string; count: number }>;
  productsSaved: Array<{ productId: string; count: number }>;
  looksSaved: number;
}

const json = (v: unknown): string => JSON.stringify(v ?? null);
function parseJson<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toDevice(r: Row): DeviceRow {
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
  };
}

function toJob(r: Row): JobRow {
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

function toRollout(r: Row): RolloutRow {
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

function toArtifact(r: Row): ArtifactRow {
  return {
    id: String(r.id),
    kind: String(r.kind) as Artifact['kind'],
    name: String(r.name),
    version: String(r.version),
    size: num(r.size),
    sha256: String(r.sha256),
    signature: String(r.signature),
    keyId: String(r.key_id),
    file: String(r.file),
    uploadedBy: String(r.uploaded_by),
    uploadedAt: num(r.uploaded_at),
  };
}

/**
 * What the dashboard aggregates in SQL, read from the protocol's event types only (an unknown
 * type is stored and counts for nothing).
 */
function eventFacts(e: EventMessage): { productId: string | null; dwellMs: number | null } {
  const k = knownEvent(e);
  if (k?.type === 'product.tried') return { productId: k.data.productId, dwellMs: null };
  if (k?.type === 'session.end') return { productId: null, dwellMs: k.data.dwellMs };
  return { productId: null, dwellMs: null };
}

const inList = (xs: string[]) => xs.map(() => '?').join(', ');

export class FleetStore {
  readonly deadLetters: DeadLetterRepo;

  constructor(readonly db: SqlDriver) {
    this.deadLetters = new DeadLetterRepo(db);
  }

  get describe(): string {
    return this.db.describe;
  }

  async init(): Promise<void> {
    await this.db.exec(SCHEMA_SQL);
    for (const [table, column, type] of ADDED_COLUMNS) {
      // A database created by an older version lacks the column: add it (the probe fails only then).
      try {
        await this.db.all(`SELECT ${column} FROM ${table} WHERE 1 = 0`);
      } catch {
        await this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      }
    }
    await this.db.run(
      'INSERT INTO fleet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ['schema_version', String(SCHEMA_VERSION)],
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- ingest ------------------------------------------------------------------------------

  /** False when the msgId was seen before (then nothing else is written). */
  private async firstTime(q: SqlExecutor, msgId: string, kind: string, now: number): Promise<boolean> {
    const n = await q.run('INSERT INTO seen_messages (msg_id, kind, received_at) VALUES (?, ?, ?) ON CONFLICT (msg_id) DO NOTHING', [
      msgId,
      kind,
      now,
    ]);
    return n === 1;
  }

  private async touchDevice(q: SqlExecutor, storeId: string, deviceId: string, now: number): Promise<void> {
    await q.run(
      `INSERT INTO devices (store_id, device_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (store_id, device_id) DO UPDATE SET last_seen = excluded.last_seen`,
      [storeId, deviceId, now, now],
    );
  }

  /** Applies the stale-will rule; returns whether the status changed the device's state. */
  async ingestStatus(storeId: string, m: StatusMessage, now: number): Promise<{ applied: boolean }> {
    return this.db.tx(async (q) => {
      const cur = await q.all('SELECT state, connection_seq FROM devices WHERE store_id = ? AND device_id = ?', [storeId, m.deviceId]);
      const current =
        cur.length === 0 || String(cur[0].state) === 'unknown'
          ? undefined
          : { state: String(cur[0].state) as 'online' | 'offline', connectionSeq: num(cur[0].connection_seq) };
      if (!shouldApplyStatus(current, m)) return { applied: false };
      await this.touchDevice(q, storeId, m.deviceId, now);
      await q.run(
        `UPDATE devices SET state = ?, connection_seq = ?, state_reason = ?, firmware_version = ?, status_at = ?,
           models = CASE WHEN ? = 1 THEN ? ELSE models END,
           backends = CASE WHEN ? = 1 THEN ? ELSE backends END
         WHERE store_id = ? AND device_id = ?`,
        [
          m.state,
          m.connectionSeq,
          m.reason ?? null,
          m.firmwareVersion,
          now,
          Object.keys(m.models).length > 0 ? 1 : 0,
          json(m.models),
          m.backends !== undefined && Object.keys(m.backends).length > 0 ? 1 : 0,
          json(m.backends ?? {}),
          storeId,
          m.deviceId,
        ],
      );
      return { applied: true };
    });
  }

  async ingestMetrics(storeId: string, m: MetricsMessage, now: number): Promise<{ duplicate: boolean }> {
    return this.db.tx(async (q) => {
      if (!(await this.firstTime(q, m.msgId, 'metrics', now))) return { duplicate: true };
      await this.touchDevice(q, storeId, m.deviceId, now);
      const ts = orderingTs(m.ts, now);
      await q.run(
        `INSERT INTO metrics (msg_id, store_id, device_id, ts, received_at, interval_s, fps, latency_p50_ms, latency_p95_ms,
           dropped_frames, processed_frames, uptime_s, rss_bytes, cpu_load, models, system_metrics, device_ts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          m.msgId,
          storeId,
          m.deviceId,
          ts,
          now,
          m.intervalS,
          m.fps,
          m.latencyP50Ms,
          m.latencyP95Ms,
          m.droppedFrames,
          m.processedFrames,
          m.uptimeS,
          m.rssBytes,
          m.cpuLoad ?? null,
          json(m.models),
          m.system === undefined ? null : json(m.system),
          m.ts,
        ],
      );
      // The latest sample wins (a replayed old one from an outbox does not overwrite a newer one);
      // a metrics_at in the future (stored before timestamps were bounded) never blocks a newer one.
      await q.run(
        `UPDATE devices SET metrics_at = ?, fps = ?, latency_p50_ms = ?, latency_p95_ms = ?, dropped_frames = ?,
           processed_frames = ?, uptime_s = ?, rss_bytes = ?, cpu_load = ?, models = ?, backends = ?, system_metrics = ?
         WHERE store_id = ? AND device_id = ? AND (metrics_at IS NULL OR metrics_at <= ? OR metrics_at > ?)`,
        [
          ts,
          m.fps,
          m.latencyP50Ms,
          m.latencyP95Ms,
          m.droppedFrames,
          m.processedFrames,
          m.uptimeS,
          m.rssBytes,
          m.cpuLoad ?? null,
          json(m.models),
          json(m.backends),
          m.system === undefined ? null : json(m.system),
          storeId,
          m.deviceId,
          ts,
          now + MAX_CLOCK_AHEAD_MS,
        ],
      );
      return { duplicate: false };
    });
  }

  async ingestEvent(storeId: string, e: EventMessage, now: number): Promise<{ duplicate: boolean }> {
    return this.db.tx(async (q) => {
      if (!(await this.firstTime(q, e.msgId, 'event', now))) return { duplicate: true };
      await this.touchDevice(q, storeId, e.deviceId, now);
      const f = eventFacts(e);
      await q.run(
        `INSERT INTO events (msg_id, store_id, device_id, ts, received_at, type, product_id, dwell_ms, data, device_ts)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [e.msgId, storeId, e.deviceId, orderingTs(e.ts, now), now, e.type, f.productId, f.dwellMs, e.data === undefined ? null : json(e.data), e.ts],
      );
      return { duplicate: false };
    });
  }

  /** De-duplicates an update/state report by msgId (the rollout engine applies it). */
  async markSeen(msgId: string, kind: string, now: number): Promise<boolean> {
    return this.db.tx((q) => this.firstTime(q, msgId, kind, now));
  }

  /** Undoes markSeen when handling the message failed, so its redelivery is handled, not dropped. */
  async forgetSeen(msgId: string): Promise<void> {
    await this.db.run('DELETE FROM seen_messages WHERE msg_id = ?', [msgId]);
  }

  async counts(): Promise<{ metrics: number; events: number; devices: number; seen: number }> {
    const r = await this.db.all(
      `SELECT (SELECT COUNT(*) FROM metrics) AS metrics, (SELECT COUNT(*) FROM events) AS events,
              (SELECT COUNT(*) FROM devices) AS devices, (SELECT COUNT(*) FROM seen_messages) AS seen`,
    );
    return { metrics: num(r[0].metrics), events: num(r[0].events), devices: num(r[0].devices), seen: num(r[0].seen) };
  }

  // ---- devices -----------------------------------------------------------------------------

  async listDevices(scope: StoreScope = {}): Promise<DeviceRow[]> {
    const rows =
      scope.storeId === undefined
        ? await this.db.all('SELECT * FROM devices ORDER BY store_id, device_id')
        : await this.db.all('SELECT * FROM devices WHERE store_id = ? ORDER BY device_id', [scope.storeId]);
    return rows.map(toDevice);
  }

  async getDevice(storeId: string, deviceId: string): Promise<DeviceRow | undefined> {
    const rows = await this.db.all('SELECT * FROM devices WHERE store_id = ? AND device_id = ?', [storeId, deviceId]);
    return rows.length ? toDevice(rows[0]) : undefined;
  }

  async setTags(storeId: string, deviceId: string, tags: string[]): Promise<boolean> {
    return (await this.db.run('UPDATE devices SET tags = ? WHERE store_id = ? AND device_id = ?', [json(tags), storeId, deviceId])) === 1;
  }

  async telemetry(storeId: string, deviceId: string, since: number, limit: number): Promise<Row[]> {
    const rows = await this.db.all(
      `SELECT ts, received_at, interval_s, fps, latency_p50_ms, latency_p95_ms, dropped_frames, processed_frames, uptime_s,
              rss_bytes, cpu_load, models, system_metrics, device_ts
       FROM metrics WHERE store_id = ? AND device_id = ? AND ts >= ? ORDER BY ts DESC LIMIT ?`,
      [storeId, deviceId, since, limit],
    );
    return rows.map((r) => ({
      ts: num(r.ts),
      /** What the device's clock said (differs from `ts` when it was ahead of the fleet's). */
      deviceTs: numOrNull(r.device_ts),
      receivedAt: num(r.received_at),
      intervalS: num(r.interval_s),
      fps: num(r.fps),
      latencyP50Ms: num(r.latency_p50_ms),
      latencyP95Ms: num(r.latency_p95_ms),
      droppedFrames: num(r.dropped_frames),
      processedFrames: num(r.processed_frames),
      uptimeS: num(r.uptime_s),
      rssBytes: num(r.rss_bytes),
      cpuLoad: numOrNull(r.cpu_load),
      models: parseJson(r.models, {}),
      system: parseJson<SystemMetricsMessage | null>(r.system_metrics, null),
    }));
  }

  async storeIds(scope: StoreScope = {}): Promise<Array<{ storeId: string; devices: number; online: number }>> {
    const where = scope.storeId === undefined ? '' : 'WHERE store_id = ?';
    const rows = await this.db.all(
      `SELECT store_id, COUNT(*) AS devices, SUM(CASE WHEN state = 'online' THEN 1 ELSE 0 END) AS online
       FROM devices ${where} GROUP BY store_id ORDER BY store_id`,
      scope.storeId === undefined ? [] : [scope.storeId],
    );
    return rows.map((r) => ({ storeId: String(r.store_id), devices: num(r.devices), online: num(r.online) }));
  }

  async storeStats(storeId: string, from: number, to: number, top = 10): Promise<StoreStats> {
    const range = 'store_id = ? AND ts >= ? AND ts < ? AND type = ?';
    const of = (type: EventType): SqlValue[] => [storeId, from, to, type];
    const s = await this.db.all(
      `SELECT COUNT(*) AS n, COALESCE(SUM(dwell_ms), 0) AS total, AVG(dwell_ms) AS avg, MAX(dwell_ms) AS max FROM events WHERE ${range}`,
      of('session.end'),
    );
    const tried = await this.db.all(
      `SELECT product_id, COUNT(*) AS n FROM events WHERE ${range} AND product_id IS NOT NULL
       GROUP BY product_id ORDER BY n DESC, product_id LIMIT ?`,
      [...of('product.tried'), top],
    );
    // A saved look names its products as one comma-separated field: counted here, per product.
    const looks = await this.db.all(`SELECT data FROM events WHERE ${range}`, of('look.saved'));
    const saved = new Map<string, number>();
    for (const r of looks) {
      const ids = parseJson<{ productIds?: unknown }>(r.data, {}).productIds;
      if (typeof ids !== 'string') continue;
      for (const id of new Set(ids.split(',').filter(Boolean))) saved.set(id, (saved.get(id) ?? 0) + 1);
    }
    return {
      storeId,
      from,
      to,
      sessions: num(s[0].n),
      dwell: { totalMs: num(s[0].total), avgMs: numOrNull(s[0].avg), maxMs: numOrNull(s[0].max) },
      productsTried: tried.map((r) => ({ productId: String(r.product_id), count: num(r.n) })),
      productsSaved: [...saved]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, top)
        .map(([productId, count]) => ({ productId, count })),
      looksSaved: looks.length,
    };
  }

  // ---- users, tokens, audit ----------------------------------------------------------------

  async userCount(): Promise<number> {
    return num((await this.db.all('SELECT COUNT(*) AS n FROM users'))[0].n);
  }

  async createUser(u: Omit<UserRow, 'createdAt'>, now: number): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO users (username, role, store_id, password_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO NOTHING`,
      [u.username, u.role, u.storeId, u.passwordHash, now, u.createdBy],
    );
    return n === 1;
  }

  async getUser(username: string): Promise<UserRow | undefined> {
    const r = await this.db.all('SELECT * FROM users WHERE username = ?', [username]);
    if (!r.length) return undefined;
    return {
      username: String(r[0].username),
      role: String(r[0].role) as Role,
      storeId: str(r[0].store_id),
      passwordHash: String(r[0].password_hash),
      createdAt: num(r[0].created_at),
      createdBy: String(r[0].created_by),
    };
  }

  async listUsers(): Promise<Array<Omit<UserRow, 'passwordHash'>>> {
    const rows = await this.db.all('SELECT username, role, store_id, created_at, created_by FROM users ORDER BY username');
    return rows.map((r) => ({
      username: String(r.username),
      role: String(r.role) as Role,
      storeId: str(r.store_id),
      createdAt: num(r.created_at),
      createdBy: String(r.created_by),
    }));
  }

  async addToken(tokenHash: string, username: string, now: number, expiresAt: number): Promise<void> {
    await this.db.run('DELETE FROM tokens WHERE expires_at < ?', [now]);
    await this.db.run('INSERT INTO tokens (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      tokenHash,
      username,
      now,
      expiresAt,
    ]);
  }

  async tokenUser(tokenHash: string, now: number): Promise<string | undefined> {
    const r = await this.db.all('SELECT username FROM tokens WHERE token_hash = ? AND expires_at > ?', [tokenHash, now]);
    return r.length ? String(r[0].username) : undefined;
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.db.run('DELETE FROM tokens WHERE token_hash = ?', [tokenHash]);
  }

  async audit(actor: string, action: string, target: string | null, detail: Record<string, unknown> | null, now: number): Promise<void> {
    await this.db.run('INSERT INTO audit (id, ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)', [
      randomUUID(),
      now,
      actor,
      action,
      target,
      detail === null ? null : json(detail),
    ]);
  }

  async listAudit(limit: number, action?: string): Promise<AuditRow[]> {
    const rows =
      action === undefined
        ? await this.db.all('SELECT * FROM audit ORDER BY ts DESC, id LIMIT ?', [limit])
        : await this.db.all('SELECT * FROM audit WHERE action = ? ORDER BY ts DESC, id LIMIT ?', [action, limit]);
    return rows.map((r) => ({
      id: String(r.id),
      ts: num(r.ts),
      actor: String(r.actor),
      action: String(r.action),
      target: str(r.target),
      detail: parseJson(r.detail, null),
    }));
  }

  // ---- artifacts ---------------------------------------------------------------------------

  async putArtifact(a: ArtifactRow): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO artifacts (id, kind, name, version, size, sha256, signature, key_id, file, uploaded_by, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [a.id, a.kind, a.name, a.version, a.size, a.sha256, a.signature, a.keyId, a.file, a.uploadedBy, a.uploadedAt],
    );
    return n === 1;
  }

  async getArtifact(id: string): Promise<ArtifactRow | undefined> {
    const r = await this.db.all('SELECT * FROM artifacts WHERE id = ?', [id]);
    return r.length ? toArtifact(r[0]) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRow[]> {
    return (await this.db.all('SELECT * FROM artifacts ORDER BY uploaded_at DESC')).map(toArtifact);
  }

  // ---- rollouts and jobs -------------------------------------------------------------------

  async createRollout(r: RolloutRow, jobs: JobRow[]): Promise<void> {
    await this.db.tx(async (q) => {
      await q.run(
        `INSERT INTO rollouts (id, artifact_id, selector, status, status_reason, options, wave, waves, resumed_wave, targets,
           created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.artifactId,
          json(r.selector),
          r.status,
          r.statusReason,
          json(r.options),
          r.wave,
          r.waves,
          r.resumedWave,
          r.targets,
          r.createdBy,
          r.createdAt,
          r.updatedAt,
        ],
      );
      for (const j of jobs) {
        await q.run(
          `INSERT INTO jobs (job_id, rollout_id, store_id, device_id, artifact_id, wave, outcome, state, reason, offered_at,
             updated_at, received, serving_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [j.jobId, j.rolloutId, j.storeId, j.deviceId, j.artifactId, j.wave, j.outcome, j.state, j.reason, j.offeredAt, j.updatedAt, j.received, j.servingVersion],
        );
      }
    });
  }

  async getRollout(id: string): Promise<RolloutRow | undefined> {
    const r = await this.db.all('SELECT * FROM rollouts WHERE id = ?', [id]);
    return r.length ? toRollout(r[0]) : undefined;
  }

  async listRollouts(status?: RolloutStatus[]): Promise<RolloutRow[]> {
    const rows =
      status === undefined
        ? await this.db.all('SELECT * FROM rollouts ORDER BY created_at DESC')
        : await this.db.all(`SELECT * FROM rollouts WHERE status IN (${inList(status)}) ORDER BY created_at`, status);
    return rows.map(toRollout);
  }

  async updateRollout(
    id: string,
    patch: Partial<Pick<RolloutRow, 'status' | 'statusReason' | 'wave' | 'resumedWave'>>,
    now: number,
  ): Promise<void> {
    const sets: string[] = ['updated_at = ?'];
    const vals: SqlValue[] = [now];
    if (patch.status !== undefined) {
      sets.push('status = ?');
      vals.push(patch.status);
    }
    if (patch.statusReason !== undefined) {
      sets.push('status_reason = ?');
      vals.push(patch.statusReason);
    }
    if (patch.wave !== undefined) {
      sets.push('wave = ?');
      vals.push(patch.wave);
    }
    if (patch.resumedWave !== undefined) {
      sets.push('resumed_wave = ?');
      vals.push(patch.resumedWave);
    }
    await this.db.run(`UPDATE rollouts SET ${sets.join(', ')} WHERE id = ?`, [...vals, id]);
  }

  async jobs(rolloutId: string, wave?: number): Promise<JobRow[]> {
    const rows =
      wave === undefined
        ? await this.db.all('SELECT * FROM jobs WHERE rollout_id = ? ORDER BY wave, store_id, device_id', [rolloutId])
        : await this.db.all('SELECT * FROM jobs WHERE rollout_id = ? AND wave = ? ORDER BY store_id, device_id', [rolloutId, wave]);
    return rows.map(toJob);
  }

  async getJob(jobId: string): Promise<JobRow | undefined> {
    const r = await this.db.all('SELECT * FROM jobs WHERE job_id = ?', [jobId]);
    return r.length ? toJob(r[0]) : undefined;
  }

  async deviceJobs(storeId: string, deviceId: string, outcomes?: JobOutcome[]): Promise<JobRow[]> {
    const rows =
      outcomes === undefined
        ? await this.db.all('SELECT * FROM jobs WHERE store_id = ? AND device_id = ? ORDER BY updated_at', [storeId, deviceId])
        : await this.db.all(
            `SELECT * FROM jobs WHERE store_id = ? AND device_id = ? AND outcome IN (${inList(outcomes)}) ORDER BY updated_at`,
            [storeId, deviceId, ...outcomes],
          );
    return rows.map(toJob);
  }

  /**
   * Devices that must never be offered this artifact again: the protocol's one rule
   * (`blocksArtifact`: rolled back, or failed as unusable), plus the fleet's own: a device that
   * refused the offer (except "busy", another job running) is not asked again.
   */
  async blockedDevices(artifactId: string): Promise<Set<string>> {
    const rows = await this.db.all('SELECT store_id, device_id, state, reason FROM jobs WHERE artifact_id = ? AND state IS NOT NULL', [artifactId]);
    const never = (state: string, reason: string | undefined) => blocksArtifact({ state, reason }) || (state === 'rejected' && reason !== 'busy');
    return new Set(rows.filter((r) => never(String(r.state), str(r.reason) ?? undefined)).map((r) => `${r.store_id}/${r.device_id}`));
  }

  async updateJob(
    jobId: string,
    patch: Partial<Pick<JobRow, 'outcome' | 'state' | 'reason' | 'offeredAt' | 'received' | 'servingVersion'>>,
    now: number,
  ): Promise<void> {
    const sets: string[] = ['updated_at = ?'];
    const vals: SqlValue[] = [now];
    const col: Record<string, string> = {
      outcome: 'outcome',
      state: 'state',
      reason: 'reason',
      offeredAt: 'offered_at',
      received: 'received',
      servingVersion: 'serving_version',
    };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      sets.push(`${col[k]} = ?`);
      vals.push(v as SqlValue);
    }
    await this.db.run(`UPDATE jobs SET ${sets.join(', ')} WHERE job_id = ?`, [...vals, jobId]);
  }

  async outcomeCounts(rolloutId: string): Promise<Array<{ wave: number; outcome: JobOutcome; n: number }>> {
    const rows = await this.db.all('SELECT wave, outcome, COUNT(*) AS n FROM jobs WHERE rollout_id = ? GROUP BY wave, outcome', [rolloutId]);
    return rows.map((r) => ({ wave: num(r.wave), outcome: String(r.outcome) as JobOutcome, n: num(r.n) }));
  }
}

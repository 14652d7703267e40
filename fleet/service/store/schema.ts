/**
 * Tables, written once in the subset SQLite and PostgreSQL share. Timestamps are milliseconds
 * since the epoch (BIGINT); JSON is kept as TEXT (maps of model versions, event data, selectors).
 * `seen_messages` is the de-duplication ledger for at-least-once delivery (keyed by msgId).
 * `dead_letters` keeps messages that can never be stored (payload as base64, so any byte survives).
 */
export const SCHEMA_VERSION = 8;

/**
 * Columns added after version 1, as `[table, column, type]`: `init()` adds each one that an
 * existing database lacks (ALTER TABLE ... ADD COLUMN, in both dialects).
 *   2: `system_metrics` (JSON, the metrics message's optional `system`: CPU, memory, temperatures, GPU).
 *   3: `device_ts`: the time the device claimed, kept beside `ts` (the time the fleet orders by,
 *      which is the receive time when the device's clock is ahead of the fleet's; see clock.ts).
 *   4: `rollback_from`: a signed rollback's floor (fleet/protocol/update.ts), offered unchanged.
 *   5: `events.session_id`: the shopper session an event belongs to (every known event type names
 *      one), so the dashboard counts sessions from whichever of their events arrived; and the
 *      `stores` table (a store's time zone and display name, set by people, not by devices).
 *   6: `events.tone_band`, `events.undertone`: the shopper's Monk tone band and undertone on
 *      product.tried / look.saved, only when the retailer enabled it on the mirror (else null);
 *      what fleet/service/recommendations aggregates.
 *   7: this session's new tables (CREATE TABLE IF NOT EXISTS, nothing altered), one line each:
 *      `commands`: every fleet → mirror command (fleet/service/commands), who sent it, and its result.
 *      `alerts` (fleet/service/alerts; UNIQUE `open_key`: one live alert per kind + subject) and the column `devices.degraded` (the metrics' degraded list).
 *      `enrol_tokens`, `device_certs`: one-time enrolment tokens (sha256 only) and the device
 *      certificates the fleet CA issued, with their revocation (fleet/service/enrol).
 *   8: `leases`: named leases with a holder and an expiry (fleet/service/lease.ts): one instance of
 *      several runs the rollout engine's ticks.
 */
export const ADDED_COLUMNS: ReadonlyArray<readonly [table: string, column: string, type: string]> = [
  ['devices', 'system_metrics', 'TEXT'],
  ['metrics', 'system_metrics', 'TEXT'],
  ['metrics', 'device_ts', 'BIGINT'],
  ['events', 'device_ts', 'BIGINT'],
  ['artifacts', 'rollback_from', 'TEXT'],
  ['events', 'session_id', 'TEXT'],
  ['events', 'tone_band', 'TEXT'],
  ['events', 'undertone', 'TEXT'],
  ['devices', 'degraded', 'TEXT'],
];

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS fleet_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'unknown',
  connection_seq BIGINT NOT NULL DEFAULT -1,
  state_reason TEXT,
  firmware_version TEXT,
  models TEXT NOT NULL DEFAULT '{}',
  backends TEXT NOT NULL DEFAULT '{}',
  tags TEXT NOT NULL DEFAULT '[]',
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  status_at BIGINT,
  metrics_at BIGINT,
  fps DOUBLE PRECISION,
  latency_p50_ms DOUBLE PRECISION,
  latency_p95_ms DOUBLE PRECISION,
  dropped_frames BIGINT,
  processed_frames BIGINT,
  uptime_s DOUBLE PRECISION,
  rss_bytes BIGINT,
  cpu_load DOUBLE PRECISION,
  system_metrics TEXT,
  degraded TEXT,
  PRIMARY KEY (store_id, device_id)
);
CREATE TABLE IF NOT EXISTS seen_messages (
  msg_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
  msg_id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  interval_s DOUBLE PRECISION NOT NULL,
  fps DOUBLE PRECISION NOT NULL,
  latency_p50_ms DOUBLE PRECISION NOT NULL,
  latency_p95_ms DOUBLE PRECISION NOT NULL,
  dropped_frames BIGINT NOT NULL,
  processed_frames BIGINT NOT NULL,
  uptime_s DOUBLE PRECISION NOT NULL,
  rss_bytes BIGINT NOT NULL,
  cpu_load DOUBLE PRECISION,
  models TEXT NOT NULL,
  system_metrics TEXT,
  device_ts BIGINT
);
CREATE INDEX IF NOT EXISTS metrics_device_ts ON metrics (store_id, device_id, ts);
CREATE TABLE IF NOT EXISTS events (
  msg_id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  type TEXT NOT NULL,
  product_id TEXT,
  dwell_ms DOUBLE PRECISION,
  data TEXT,
  device_ts BIGINT,
  session_id TEXT,
  tone_band TEXT,
  undertone TEXT
);
CREATE INDEX IF NOT EXISTS events_store_type_ts ON events (store_id, type, ts);
CREATE INDEX IF NOT EXISTS events_store_ts ON events (store_id, ts);
CREATE TABLE IF NOT EXISTS stores (
  store_id TEXT PRIMARY KEY,
  name TEXT,
  time_zone TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL,
  topic TEXT NOT NULL,
  payload_b64 TEXT NOT NULL,
  reason TEXT NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at);
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  store_id TEXT,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  token_hash TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id TEXT PRIMARY KEY,
  ts BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE TABLE IF NOT EXISTS artifacts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  signature TEXT NOT NULL,
  key_id TEXT NOT NULL,
  rollback_from TEXT,
  file TEXT NOT NULL,
  uploaded_by TEXT NOT NULL,
  uploaded_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollouts (
  id TEXT PRIMARY KEY,
  artifact_id TEXT NOT NULL,
  selector TEXT NOT NULL,
  status TEXT NOT NULL,
  status_reason TEXT,
  options TEXT NOT NULL,
  wave INTEGER NOT NULL,
  waves INTEGER NOT NULL,
  resumed_wave INTEGER NOT NULL DEFAULT -1,
  targets INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  rollout_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  artifact_id TEXT NOT NULL,
  wave INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  state TEXT,
  reason TEXT,
  offered_at BIGINT,
  updated_at BIGINT NOT NULL,
  received BIGINT,
  serving_version TEXT
);
CREATE INDEX IF NOT EXISTS jobs_rollout_wave ON jobs (rollout_id, wave);
CREATE INDEX IF NOT EXISTS jobs_device ON jobs (store_id, device_id);
CREATE TABLE IF NOT EXISTS commands (
  id TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  field TEXT,
  error TEXT,
  output TEXT,
  result_at BIGINT
);
CREATE INDEX IF NOT EXISTS commands_device_ts ON commands (store_id, device_id, issued_at);
CREATE TABLE IF NOT EXISTS alerts (
  id TEXT PRIMARY KEY,
  open_key TEXT UNIQUE,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  store_id TEXT,
  device_id TEXT,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  first_true_at BIGINT NOT NULL,
  raised_at BIGINT,
  false_since BIGINT,
  cleared_at BIGINT,
  flaps INTEGER NOT NULL DEFAULT 0,
  acked_by TEXT,
  acked_at BIGINT
);
CREATE INDEX IF NOT EXISTS alerts_status_raised ON alerts (status, raised_at);
CREATE TABLE IF NOT EXISTS enrol_tokens (
  token_hash TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  used_serial TEXT
);
CREATE TABLE IF NOT EXISTS device_certs (
  serial TEXT PRIMARY KEY,
  store_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  issued_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT,
  revoke_reason TEXT
);
CREATE INDEX IF NOT EXISTS device_certs_device ON device_certs (store_id, device_id);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  acquired_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
`;

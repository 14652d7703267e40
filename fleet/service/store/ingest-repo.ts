/**
 * Device messages into the store, idempotently: a message whose msgId was seen before changes
 * nothing (`seen_messages` is the de-duplication ledger for at-least-once delivery).
 */
import { knownEvent, shouldApplyStatus, type EventMessage, type MetricsMessage, type StatusMessage } from '../../protocol/schemas.ts';
import { MAX_CLOCK_AHEAD_MS, orderingTs } from '../clock.ts';
import { num, type SqlDriver, type SqlExecutor } from './driver.ts';
import { json } from './rows.ts';

/**
 * What the dashboard aggregates in SQL, read from the protocol's event types only (an unknown
 * type is stored and counts for nothing). Every known type names its session.
 */
export interface EventFacts {
  productId: string | null;
  dwellMs: number | null;
  sessionId: string | null;
  /** Tone band and undertone (validated by the protocol, both or neither), when the retailer shares them. */
  toneBand: string | null;
  undertone: string | null;
}

export function eventFacts(e: EventMessage): EventFacts {
  const k = knownEvent(e);
  const none: EventFacts = { productId: null, dwellMs: null, sessionId: k?.data.sessionId ?? null, toneBand: null, undertone: null };
  if (k?.type === 'product.tried') return { ...none, productId: k.data.productId, toneBand: k.data.toneBand ?? null, undertone: k.data.undertone ?? null };
  if (k?.type === 'look.saved') return { ...none, toneBand: k.data.toneBand ?? null, undertone: k.data.undertone ?? null };
  if (k?.type === 'session.end') return { ...none, dwellMs: k.data.dwellMs };
  return none;
}

export class IngestRepo {
  constructor(private readonly db: SqlDriver) {}

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
           processed_frames = ?, uptime_s = ?, rss_bytes = ?, cpu_load = ?, models = ?, backends = ?, system_metrics = ?,
           degraded = ?
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
          m.degraded === undefined || m.degraded.length === 0 ? null : json(m.degraded),
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
        `INSERT INTO events (msg_id, store_id, device_id, ts, received_at, type, product_id, dwell_ms, data, device_ts, session_id, tone_band, undertone)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.msgId,
          storeId,
          e.deviceId,
          orderingTs(e.ts, now),
          now,
          e.type,
          f.productId,
          f.dwellMs,
          e.data === undefined ? null : json(e.data),
          e.ts,
          f.sessionId,
          f.toneBand,
          f.undertone,
        ],
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
}

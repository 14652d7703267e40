/**
 * The shopper-event facts behind a store's dashboard, read from SQL: one row per session seen in a
 * time range (from whichever of its events arrived: session.start, product.tried, look.saved,
 * session.end), and the products tried and saved. The figures themselves are made in
 * ../store-stats.ts.
 */
import { num, numOrNull, type SqlDriver } from './driver.ts';
import { parseJson } from './rows.ts';

export interface SessionFacts {
  deviceId: string;
  sessionId: string;
  /** The session's first event in the range (its start when session.start arrived). */
  firstTs: number;
  tried: boolean;
  saved: boolean;
  /** From its session.end; null while the session is open or when the end never arrived. */
  dwellMs: number | null;
}

export interface ProductCount {
  productId: string;
  count: number;
}

const RANGE = 'store_id = ? AND ts >= ? AND ts < ?';

export class StatsRepo {
  constructor(private readonly db: SqlDriver) {}

  /**
   * Sessions are keyed by device and session id (ids are random per session, but two mirrors'
   * ids are not coordinated). A session counts when any of its events is in the range.
   */
  async sessions(storeId: string, from: number, to: number): Promise<SessionFacts[]> {
    const rows = await this.db.all(
      `SELECT device_id, session_id, MIN(ts) AS first_ts,
              MAX(CASE WHEN type = 'product.tried' THEN 1 ELSE 0 END) AS tried,
              MAX(CASE WHEN type = 'look.saved' THEN 1 ELSE 0 END) AS saved,
              MAX(dwell_ms) AS dwell
       FROM events WHERE ${RANGE} AND session_id IS NOT NULL
       GROUP BY device_id, session_id ORDER BY first_ts`,
      [storeId, from, to],
    );
    return rows.map((r) => ({
      deviceId: String(r.device_id),
      sessionId: String(r.session_id),
      firstTs: num(r.first_ts),
      tried: num(r.tried) === 1,
      saved: num(r.saved) === 1,
      dwellMs: numOrNull(r.dwell),
    }));
  }

  async productsTried(storeId: string, from: number, to: number, top: number): Promise<ProductCount[]> {
    const rows = await this.db.all(
      `SELECT product_id, COUNT(*) AS n FROM events WHERE ${RANGE} AND type = 'product.tried' AND product_id IS NOT NULL
       GROUP BY product_id ORDER BY n DESC, product_id LIMIT ?`,
      [storeId, from, to, top],
    );
    return rows.map((r) => ({ productId: String(r.product_id), count: num(r.n) }));
  }

  /** A saved look names its products as one comma-separated field: counted here, per product. */
  async productsSaved(storeId: string, from: number, to: number, top: number): Promise<{ looks: number; products: ProductCount[] }> {
    const looks = await this.db.all(`SELECT data FROM events WHERE ${RANGE} AND type = 'look.saved'`, [storeId, from, to]);
    const saved = new Map<string, number>();
    for (const r of looks) {
      const ids = parseJson<{ productIds?: unknown }>(r.data, {}).productIds;
      if (typeof ids !== 'string') continue;
      for (const id of new Set(ids.split(',').filter(Boolean))) saved.set(id, (saved.get(id) ?? 0) + 1);
    }
    const products = [...saved]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, top)
      .map(([productId, count]) => ({ productId, count }));
    return { looks: looks.length, products };
  }

  /**
   * Events stored before `session_id` existed get it from their JSON data (run once, when the
   * column is added): their sessions count like new ones.
   */
  async backfillSessionIds(): Promise<number> {
    const rows = await this.db.all(
      "SELECT msg_id, data FROM events WHERE session_id IS NULL AND type IN ('session.start', 'session.end', 'product.tried', 'look.saved')",
    );
    let n = 0;
    for (const r of rows) {
      const id = parseJson<{ sessionId?: unknown }>(r.data, {}).sessionId;
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) continue;
      n += await this.db.run('UPDATE events SET session_id = ? WHERE msg_id = ?', [id, String(r.msg_id)]);
    }
    return n;
  }
}

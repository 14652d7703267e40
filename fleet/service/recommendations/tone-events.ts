/**
 * The shopper events that carry a tone band and undertone (product.tried, look.saved; only from
 * mirrors whose retailer enabled it), read from the fleet store for the aggregation. Nothing else
 * of an event is read: store, device and session ids (random per session), time, product/shade.
 */
import { TONE_BANDS, UNDERTONES, type ToneBand, type Undertone } from '../../protocol/recommendations.ts';
import { num, type SqlDriver } from '../store/driver.ts';
import { parseJson } from '../store/rows.ts';

export type ToneEvent =
  | (ToneEventBase & { type: 'product.tried'; productId: string; shadeId: string | null })
  | (ToneEventBase & { type: 'look.saved'; productIds: string[] });

interface ToneEventBase {
  storeId: string;
  /** Device and session id together: session ids are random per session, not coordinated between mirrors. */
  session: string;
  ts: number;
  toneBand: ToneBand;
  undertone: Undertone;
}

const isBand = (v: unknown): v is ToneBand => (TONE_BANDS as readonly unknown[]).includes(v);
const isUndertone = (v: unknown): v is Undertone => (UNDERTONES as readonly unknown[]).includes(v);

/**
 * Tone-carrying events with `from <= ts < to`, oldest first; at the same millisecond a try comes
 * before a save (a save is of what was already tried).
 */
export async function toneEvents(db: SqlDriver, from: number, to: number): Promise<ToneEvent[]> {
  const rows = await db.all(
    `SELECT store_id, device_id, session_id, ts, type, product_id, data, tone_band, undertone FROM events
     WHERE ts >= ? AND ts < ? AND type IN ('product.tried', 'look.saved')
       AND tone_band IS NOT NULL AND undertone IS NOT NULL AND session_id IS NOT NULL
     ORDER BY ts, CASE WHEN type = 'product.tried' THEN 0 ELSE 1 END, msg_id`,
    [from, to],
  );
  const out: ToneEvent[] = [];
  for (const r of rows) {
    if (!isBand(r.tone_band) || !isUndertone(r.undertone)) continue;
    const base: ToneEventBase = {
      storeId: String(r.store_id),
      session: `${String(r.device_id)}/${String(r.session_id)}`,
      ts: num(r.ts),
      toneBand: r.tone_band,
      undertone: r.undertone,
    };
    const data = parseJson<{ shadeId?: unknown; productIds?: unknown }>(r.data, {});
    if (r.type === 'product.tried' && r.product_id !== null) {
      out.push({ ...base, type: 'product.tried', productId: String(r.product_id), shadeId: typeof data.shadeId === 'string' ? data.shadeId : null });
    } else if (r.type === 'look.saved' && typeof data.productIds === 'string') {
      out.push({ ...base, type: 'look.saved', productIds: [...new Set(data.productIds.split(',').filter(Boolean))] });
    }
  }
  return out;
}

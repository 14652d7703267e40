/**
 * A store's dashboard figures for a time range, in the store's time zone: sessions (per local
 * hour and day), median dwell, products tried and saved, try-to-save conversion.
 *
 * Every figure is derived from the same set of sessions: the sessions whose events arrived,
 * whichever they were. A fleet service that joined after a mirror misses that session's
 * session.start; its product.tried still makes it a session, so `sessions >= sessionsTried >=
 * sessionsConverted` always holds, whatever order the fleet and the mirrors started in.
 */
import type { FleetStore } from './store/fleet-store.ts';
import type { ProductCount, SessionFacts } from './store/stats-repo.ts';
import { dateKey, dayStart, hourKey, hourStart } from './time-zone.ts';

/** The longest span of the per-hour and per-day series (a longer range's totals still cover all of it). */
export const MAX_SERIES_MS = 93 * 86_400_000;

export interface Bucket {
  /** The first instant of the local hour or day (epoch ms); the browser formats it in `timeZone`. */
  start: number;
  /** `2026-12-01T15` (hour) or `2026-12-01` (day), local. */
  key: string;
  sessions: number;
  tried: number;
  saved: number;
}

export interface StoreStats {
  storeId: string;
  timeZone: string;
  from: number;
  to: number;
  sessions: number;
  /** Sessions with at least one product tried, and with a look saved. */
  sessionsTried: number;
  sessionsSaved: number;
  /** Of the sessions that tried a product, the share that saved a look (null: none tried). */
  conversion: number | null;
  dwell: { measured: number; totalMs: number; avgMs: number | null; medianMs: number | null; maxMs: number | null };
  productsTried: ProductCount[];
  productsSaved: ProductCount[];
  looksSaved: number;
  /** Where the series begin: `from`, or MAX_SERIES_MS before `to` for a longer range. */
  seriesFrom: number;
  hourly: Bucket[];
  daily: Bucket[];
}

export interface RangeQuery {
  from?: number;
  to?: number;
  /** The last `days` local days, today included (overrides from/to). */
  days?: number;
}

/** The range a query asks for; throws RangeError when it is empty. */
export function resolveRange(q: RangeQuery, now: number, tz: string): { from: number; to: number } {
  let from: number;
  let to: number;
  if (q.days !== undefined) {
    to = now + 1;
    from = dayStart(now - (q.days - 1) * 86_400_000, tz);
  } else {
    to = q.to ?? now + 1;
    from = q.from ?? to - 86_400_000;
  }
  if (to <= from) throw new RangeError('from must be before to');
  return { from, to };
}

/** Empty buckets for every local hour (or day) that overlaps [from, to), in order. */
function buckets(from: number, to: number, tz: string, unit: 'hour' | 'day'): Bucket[] {
  const out: Bucket[] = [];
  const seen = new Set<string>();
  const keyOf = unit === 'hour' ? hourKey : dateKey;
  // Hour steps: a repeated local hour (DST ends) merges into one key, a skipped one never appears.
  for (let t = hourStart(from, tz); t < to; t += 3_600_000) {
    const key = keyOf(t, tz);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ start: unit === 'hour' ? t : dayStart(t, tz), key, sessions: 0, tried: 0, saved: 0 });
  }
  return out;
}

function fill(into: Bucket[], sessions: SessionFacts[], key: (t: number) => string): Bucket[] {
  const byKey = new Map(into.map((b) => [b.key, b]));
  for (const s of sessions) {
    const b = byKey.get(key(s.firstTs));
    if (!b) continue;
    b.sessions++;
    if (s.tried) b.tried++;
    if (s.saved) b.saved++;
  }
  return into;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The figures for one store over [from, to), in its time zone. */
export async function storeStats(store: FleetStore, storeId: string, range: { from: number; to: number }, tz: string, top = 10): Promise<StoreStats> {
  const { from, to } = range;
  const sessions = await store.stats.sessions(storeId, from, to);
  const saved = await store.stats.productsSaved(storeId, from, to, top);
  const dwells = sessions.flatMap((s) => (s.dwellMs === null ? [] : [s.dwellMs]));
  const tried = sessions.filter((s) => s.tried);
  const total = dwells.reduce((a, b) => a + b, 0);
  const seriesFrom = Math.max(from, to - MAX_SERIES_MS);
  return {
    storeId,
    timeZone: tz,
    from,
    to,
    sessions: sessions.length,
    sessionsTried: tried.length,
    sessionsSaved: sessions.filter((s) => s.saved).length,
    conversion: tried.length ? tried.filter((s) => s.saved).length / tried.length : null,
    dwell: {
      measured: dwells.length,
      totalMs: total,
      avgMs: dwells.length ? total / dwells.length : null,
      medianMs: median(dwells),
      maxMs: dwells.length ? Math.max(...dwells) : null,
    },
    productsTried: await store.stats.productsTried(storeId, from, to, top),
    productsSaved: saved.products,
    looksSaved: saved.looks,
    seriesFrom,
    hourly: fill(buckets(seriesFrom, to, tz, 'hour'), sessions, (t) => hourKey(t, tz)),
    daily: fill(buckets(seriesFrom, to, tz, 'day'), sessions, (t) => dateKey(t, tz)),
  };
}

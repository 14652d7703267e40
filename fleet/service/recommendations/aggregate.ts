/**
 * The recommendation artifact from tone-carrying shopper events: per tone band x undertone, for
 * the whole fleet and for each store, which products and shades sessions tried and saved in the
 * last `windowDays`, with a trend against the window before.
 *
 *   sessions   distinct sessions with a tone event of that band/undertone in the window (a session
 *              whose reading changed band counts in each bucket it reached)
 *   tried      sessions of the bucket that tried the product in that shade
 *   saved      sessions of the bucket that saved a look holding the product; a saved look names
 *              products only (its id hashes the shades), so the save goes to the shade of that
 *              product the session tried last before saving; a save with no such try is not counted
 *   trend      saved in the window / saved in the window before, null when that was 0
 *
 * k-anonymity: a bucket with fewer than `minSessions` sessions is left out entirely; nothing per
 * session leaves this function, only counts.
 */
import { FLEET_SCOPE, TrendArtifactSchema, type ToneBand, type TrendArtifact, type TrendBucket, type Undertone } from '../../protocol/recommendations.ts';
import type { ToneEvent } from './tone-events.ts';

export const DAY_MS = 86_400_000;

export interface AggregateOptions {
  now: number;
  windowDays: number;
  minSessions: number;
  version: string;
}

interface Tally {
  toneBand: ToneBand;
  undertone: Undertone;
  scope: string;
  sessions: Set<string>;
  /** `productId/shadeId` → sessions (tried, saved in the window; saved in the window before). */
  tried: Map<string, Set<string>>;
  saved: Map<string, Set<string>>;
  savedBefore: Map<string, Set<string>>;
}

const add = (m: Map<string, Set<string>>, key: string, session: string): void => {
  let s = m.get(key);
  if (!s) m.set(key, (s = new Set()));
  s.add(session);
};

/** `events` oldest first, covering the window and the one before it. */
export function aggregateTrends(events: readonly ToneEvent[], o: AggregateOptions): TrendArtifact {
  const windowStart = o.now - o.windowDays * DAY_MS;
  const tallies = new Map<string, Tally>();
  const tallyOf = (e: ToneEvent, scope: string): Tally => {
    const key = `${scope}|${e.toneBand}|${e.undertone}`;
    let t = tallies.get(key);
    if (!t) {
      t = { toneBand: e.toneBand, undertone: e.undertone, scope, sessions: new Set(), tried: new Map(), saved: new Map(), savedBefore: new Map() };
      tallies.set(key, t);
    }
    return t;
  };
  /** Per session, per product: the shade tried last (events are in time order). */
  const lastShade = new Map<string, string>();
  for (const e of events) {
    const current = e.ts >= windowStart;
    const scopes = [tallyOf(e, FLEET_SCOPE), tallyOf(e, e.storeId)];
    if (e.type === 'product.tried') {
      if (e.shadeId !== null) lastShade.set(`${e.session}|${e.productId}`, e.shadeId);
      for (const t of scopes) {
        if (!current) continue;
        t.sessions.add(e.session);
        if (e.shadeId !== null) add(t.tried, `${e.productId}/${e.shadeId}`, e.session);
      }
      continue;
    }
    for (const t of scopes) {
      if (current) t.sessions.add(e.session);
      for (const productId of e.productIds) {
        const shadeId = lastShade.get(`${e.session}|${productId}`);
        if (shadeId !== undefined) add(current ? t.saved : t.savedBefore, `${productId}/${shadeId}`, e.session);
      }
    }
  }
  const buckets = [...tallies.values()]
    .filter((t) => t.sessions.size >= o.minSessions)
    .map(bucketOf)
    .sort((a, b) => (a.scope === b.scope ? 0 : a.scope === FLEET_SCOPE ? -1 : b.scope === FLEET_SCOPE ? 1 : a.scope.localeCompare(b.scope)) || a.toneBand.localeCompare(b.toneBand) || a.undertone.localeCompare(b.undertone));
  return TrendArtifactSchema.parse({
    kind: 'recommendations',
    version: o.version,
    generatedAt: new Date(o.now).toISOString(),
    windowDays: o.windowDays,
    minSessions: o.minSessions,
    buckets,
  });
}

function bucketOf(t: Tally): TrendBucket {
  const keys = new Set([...t.tried.keys(), ...t.saved.keys()]);
  const products = [...keys].map((key) => {
    const [productId, shadeId] = splitKey(key);
    const saved = t.saved.get(key)?.size ?? 0;
    const before = t.savedBefore.get(key)?.size ?? 0;
    return { productId, shadeId, tried: t.tried.get(key)?.size ?? 0, saved, trend: before === 0 ? null : Math.round((saved / before) * 1000) / 1000 };
  });
  products.sort((a, b) => b.saved - a.saved || b.tried - a.tried || a.productId.localeCompare(b.productId) || a.shadeId.localeCompare(b.shadeId));
  return { toneBand: t.toneBand, undertone: t.undertone, scope: t.scope, sessions: t.sessions.size, products };
}

/** Shade ids are ids ([A-Za-z0-9_-]); a product id may hold '/', so split at the last one. */
function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** A version that grows with time (the device refuses going down): UTC yyyymmdd.hhmmss. */
export function versionAt(now: number): string {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}.${iso.slice(11, 19).replaceAll(':', '')}`;
}

/**
 * Recommendations with their reason in plain words:
 *  - content: the catalog's advisor rules (catalog/schema.ts AdvisorRuleSchema) that match the
 *    shopper's depth (Monk tone band), undertone and face shape, in the merchandiser's order, each
 *    with its rule's reason;
 *  - behaviour: when a recommendation artifact is installed, the most saved shades of the bucket
 *    of shoppers with the same tone band and undertone: this store's bucket when it has at least
 *    `minSessions` sessions (and the artifact's own k), else the fleet's, else none (k-anonymity:
 *    a smaller bucket is never read, whatever the artifact says). At most TREND_COUNT, placed first, each named once.
 * Only shades the serving catalog has are recommended.
 */
import type { CatalogV2 } from '../tryon/catalog/schema.ts';
import type { FaceShape } from './face-shape.ts';
import { toneBandOf, usableBucket, type ToneBand, type TrendArtifact, type TrendBucket } from './trends.ts';
import type { Undertone } from './undertone.ts';

export interface Recommendation {
  productId: string;
  shadeId: string;
  reason: string;
}

export interface Shopper {
  monk: number;
  undertone: Undertone;
  faceShape: FaceShape;
}

export const TREND_COUNT = 3;
/** Content suggestions shown at most (the kiosk shows them as one row). */
export const CONTENT_COUNT = 8;

const hasShade = (catalog: CatalogV2, productId: string, shadeId: string): boolean =>
  catalog.products.some((p) => p.id === productId && p.shades.some((s) => s.id === shadeId));

export function contentRecommendations(catalog: CatalogV2, shopper: Shopper): Recommendation[] {
  const depth: ToneBand = toneBandOf(shopper.monk);
  const out: Recommendation[] = [];
  for (const rule of catalog.advisor?.rules ?? []) {
    if (rule.depth && !rule.depth.includes(depth)) continue;
    if (rule.undertone && !rule.undertone.includes(shopper.undertone)) continue;
    if (rule.faceShape && !rule.faceShape.includes(shopper.faceShape)) continue;
    for (const s of rule.suggest) out.push({ productId: s.productId, shadeId: s.shadeId, reason: rule.reason });
  }
  return out.slice(0, CONTENT_COUNT);
}

/** The bucket the mirror may read for this shopper, or null (none big enough: trends.ts usableBucket, the one k rule). */
export const trendBucket = (artifact: TrendArtifact, shopper: Shopper, storeId: string, minSessions: number): TrendBucket | null =>
  usableBucket(artifact, { toneBand: toneBandOf(shopper.monk), undertone: shopper.undertone, storeId, minSessions });

export function trendRecommendations(catalog: CatalogV2, artifact: TrendArtifact, shopper: Shopper, storeId: string, minSessions: number): Recommendation[] {
  const bucket = trendBucket(artifact, shopper, storeId, minSessions);
  if (!bucket) return [];
  const where = bucket.scope === 'fleet' ? '' : ' in this store';
  return [...bucket.products]
    .filter((p) => p.saved > 0 && hasShade(catalog, p.productId, p.shadeId))
    .sort((a, b) => b.saved - a.saved || b.tried - a.tried)
    .slice(0, TREND_COUNT)
    .map((p) => ({
      productId: p.productId,
      shadeId: p.shadeId,
      reason: `Saved most by shoppers with a similar tone${where} in the last ${artifact.windowDays} days`,
    }));
}

/** Behaviour first (when an artifact serves), then content, each shade once. */
export function recommend(catalog: CatalogV2, shopper: Shopper, trends: { artifact: TrendArtifact | null; storeId: string; minSessions: number }): Recommendation[] {
  const fromTrends = trends.artifact ? trendRecommendations(catalog, trends.artifact, shopper, trends.storeId, trends.minSessions) : [];
  const seen = new Set<string>();
  return [...fromTrends, ...contentRecommendations(catalog, shopper)].filter((r) => {
    const key = `${r.productId}/${r.shadeId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The recommendation artifact on the mirror: what shoppers of a similar tone tried and saved,
 * aggregated by the fleet service (fleet/service/recommendations) and shipped signed through the
 * update path like a catalog (device/advisor/trends-host.ts installs it). The schema is the
 * protocol's (fleet/protocol/recommendations.ts); this module adds what the advisor needs to read
 * it: the tone band of a Monk tone, and the one bucket a reading may use (k-anonymity applied on
 * this side too, with the mirror's own threshold).
 */
import { FLEET_SCOPE, type ToneBand, type TrendArtifact, type TrendBucket, type Undertone } from '../../fleet/protocol/recommendations.ts';

export {
  DEFAULT_MIN_SESSIONS,
  FLEET_SCOPE,
  TONE_BANDS,
  TrendArtifactSchema,
  TrendBucketSchema,
  TrendProductSchema,
  UNDERTONES,
  type ToneBand,
  type TrendArtifact,
  type TrendBucket,
  type TrendProduct,
  type Undertone,
} from '../../fleet/protocol/recommendations.ts';

/** Monk 1-3 light, 4-6 medium, 7-10 deep. */
export function toneBandOf(monk: number): ToneBand {
  if (monk <= 3) return 'light';
  if (monk <= 6) return 'medium';
  return 'deep';
}

export interface BucketQuery {
  toneBand: ToneBand;
  undertone: Undertone;
  /** This mirror's store: its own bucket is preferred to the fleet's. */
  storeId: string;
  /** The mirror's k (config); a bucket with fewer sessions is never used, whatever the artifact says. */
  minSessions: number;
}

/** The bucket a reading may use: this store's, else the fleet's; null when none reaches k (or no artifact). */
export function usableBucket(artifact: TrendArtifact | null, q: BucketQuery): TrendBucket | null {
  if (!artifact) return null;
  const k = Math.max(q.minSessions, artifact.minSessions);
  const match = (scope: string) =>
    artifact.buckets.find((b) => b.scope === scope && b.toneBand === q.toneBand && b.undertone === q.undertone && b.sessions >= k) ?? null;
  return match(q.storeId) ?? match(FLEET_SCOPE);
}

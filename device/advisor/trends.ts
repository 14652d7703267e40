/**
 * The recommendation artifact: what shoppers of a similar tone tried and saved, aggregated by the
 * fleet service (fleet/service/recommendations) and shipped to mirrors signed, through the update
 * path like a catalog. Only buckets with at least `minSessions` sessions are published (k-anonymity);
 * nothing in it refers to a person.
 */
import { z } from 'zod';

/** Monk tone bands the fleet aggregates by: coarse on purpose, so each bucket gathers enough sessions. */
export const TONE_BANDS = ['light', 'medium', 'deep'] as const;
export type ToneBand = (typeof TONE_BANDS)[number];

/** Monk 1-3 light, 4-6 medium, 7-10 deep. */
export function toneBandOf(monk: number): ToneBand {
  if (monk <= 3) return 'light';
  if (monk <= 6) return 'medium';
  return 'deep';
}

export const UNDERTONES = ['warm', 'neutral', 'cool'] as const;

export const TrendProductSchema = z.object({
  productId: z.string().min(1),
  shadeId: z.string().min(1),
  tried: z.number().int().nonnegative(),
  saved: z.number().int().nonnegative(),
  /** Saves in the last window divided by saves in the window before (1: flat); null when there is no earlier window. */
  trend: z.number().nonnegative().nullable(),
});

export const TrendBucketSchema = z.object({
  toneBand: z.enum(TONE_BANDS),
  undertone: z.enum(UNDERTONES),
  /** 'fleet' for all stores together, or a store id. */
  scope: z.string().min(1),
  sessions: z.number().int().nonnegative(),
  products: z.array(TrendProductSchema),
});

export const TrendArtifactSchema = z.object({
  kind: z.literal('recommendations'),
  version: z.string().min(1),
  generatedAt: z.string().datetime(),
  windowDays: z.number().int().positive(),
  /** The k of k-anonymity the fleet applied; the mirror also ignores any bucket below its own configured threshold. */
  minSessions: z.number().int().positive(),
  buckets: z.array(TrendBucketSchema),
});

export type TrendArtifact = z.infer<typeof TrendArtifactSchema>;
export type TrendBucket = z.infer<typeof TrendBucketSchema>;

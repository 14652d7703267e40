/**
 * The recommendation artifact (kind "recommendations", name "recommendations"), shared by the
 * fleet, which aggregates and publishes it (fleet/service/recommendations), and the mirror, which
 * installs and reads it (device/advisor/trends.ts, trends-host.ts): what shoppers of a similar
 * tone tried and saved, per Monk tone band and undertone, across stores ("fleet") and per store.
 *
 * k-anonymity: a bucket is published only when at least `minSessions` distinct shopper sessions
 * contributed to it, and the mirror also ignores a bucket below its own configured threshold.
 * Nothing in it refers to a person: counts per product and shade only.
 */
import { z } from 'zod';
import { ID_PATTERN } from './topics.ts';

/** The artifact's name on the update path (one per fleet). */
export const RECOMMENDATIONS_NAME = 'recommendations';

/** Monk tone bands the fleet aggregates by: coarse on purpose, so each bucket gathers enough sessions. */
export const TONE_BANDS = ['light', 'medium', 'deep'] as const;
export type ToneBand = (typeof TONE_BANDS)[number];

export const UNDERTONES = ['warm', 'neutral', 'cool'] as const;
export type Undertone = (typeof UNDERTONES)[number];

/** The scope of a bucket holding every store together. */
export const FLEET_SCOPE = 'fleet';

/** The default k: a bucket needs this many sessions (fleet config recommendations.minSessions, device config advisor.minSessions). */
export const DEFAULT_MIN_SESSIONS = 20;

export const TrendProductSchema = z.object({
  productId: z.string().min(1).max(128),
  shadeId: z.string().min(1).max(64),
  /** Sessions of the bucket that tried this product and shade in the window. */
  tried: z.number().int().nonnegative(),
  /** Sessions of the bucket that saved a look holding this product in this shade in the window. */
  saved: z.number().int().nonnegative(),
  /** Saves in the last window divided by saves in the window before (1: flat); null when the window before had none. */
  trend: z.number().nonnegative().nullable(),
});

export const TrendBucketSchema = z.object({
  toneBand: z.enum(TONE_BANDS),
  undertone: z.enum(UNDERTONES),
  /** 'fleet' for all stores together, or a store id. */
  scope: z.union([z.literal(FLEET_SCOPE), z.string().regex(ID_PATTERN)]),
  /** Distinct sessions that contributed in the window (at least the artifact's minSessions). */
  sessions: z.number().int().nonnegative(),
  /** Most saved first, then most tried. */
  products: z.array(TrendProductSchema).max(1000),
});

export const TrendArtifactSchema = z
  .object({
    kind: z.literal('recommendations'),
    version: z.string().min(1).max(64),
    generatedAt: z.iso.datetime(),
    windowDays: z.number().int().positive().max(366),
    /** The k of k-anonymity the fleet applied; the mirror also ignores any bucket below its own configured threshold. */
    minSessions: z.number().int().positive(),
    buckets: z.array(TrendBucketSchema).max(10_000),
  })
  .superRefine((a, ctx) => {
    a.buckets.forEach((b, i) => {
      if (b.sessions < a.minSessions) {
        ctx.addIssue({ code: 'custom', path: ['buckets', i, 'sessions'], message: `${b.sessions} sessions is below the artifact's minSessions ${a.minSessions}` });
      }
    });
  });

export type TrendProduct = z.infer<typeof TrendProductSchema>;
export type TrendBucket = z.infer<typeof TrendBucketSchema>;
export type TrendArtifact = z.infer<typeof TrendArtifactSchema>;

/**
 * The parts of the fleet service's answers the operator CLI reads, validated (a proxy's HTML page
 * or an older service fails with the field named instead of printing "undefined"). Loose objects:
 * `--json` prints the whole answer, fields the CLI does not read included.
 */
import { z } from 'zod';
import { SelectorSchema } from '../service/rollouts/selector.ts';

const Rollout = z.looseObject({
  id: z.string(),
  artifactId: z.string(),
  selector: SelectorSchema,
  status: z.string(),
  statusReason: z.string().nullable(),
  wave: z.number(),
  waves: z.number(),
  targets: z.number(),
  createdBy: z.string(),
  createdAt: z.number(),
});
export type RolloutView = z.infer<typeof Rollout>;

export const RolloutAnswer = z.looseObject({ rollout: Rollout });
export const RolloutList = z.looseObject({ rollouts: z.array(Rollout) });

const Counts = z.record(z.string(), z.number());
export const RolloutSummaryAnswer = z.looseObject({
  rollout: Rollout,
  artifact: z.looseObject({ id: z.string(), name: z.string(), version: z.string() }).nullable(),
  waves: z.array(z.looseObject({ wave: z.number(), size: z.number(), counts: Counts })),
  progress: z.number(),
});
export type RolloutSummaryView = z.infer<typeof RolloutSummaryAnswer>;

export const DeviceList = z.looseObject({
  devices: z.array(
    z.looseObject({
      storeId: z.string(),
      deviceId: z.string(),
      state: z.string(),
      health: z.string(),
      problems: z.array(z.string()).optional(),
      firmwareVersion: z.string().nullable(),
      models: z.record(z.string(), z.string()).nullable(),
      fps: z.number().nullable(),
      latencyP95Ms: z.number().nullable(),
      lastSeen: z.number().nullable(),
      system: z
        .looseObject({
          cpuLoad: z.number().optional(),
          temperaturesC: z.record(z.string(), z.number()).optional(),
          gpuTemperatureC: z.number().optional(),
        })
        .nullable()
        .optional(),
    }),
  ),
});

export const ArtifactAnswer = z.looseObject({ artifact: z.looseObject({ sha256: z.string() }) });
export const UserAnswer = z.looseObject({ username: z.string(), role: z.string(), storeId: z.string().nullish() });
export const LoginAnswer = z.looseObject({ token: z.string() });
export const AuditList = z.looseObject({
  audit: z.array(
    z.looseObject({ ts: z.number(), actor: z.string(), action: z.string(), target: z.string().nullable(), detail: z.unknown() }),
  ),
});
export const StoreList = z.looseObject({
  stores: z.array(z.looseObject({ storeId: z.string(), name: z.string().nullable(), timeZone: z.string(), devices: z.number(), online: z.number() })),
});

const ProductCounts = z.array(z.looseObject({ productId: z.string(), count: z.number() }));
const Buckets = z.array(z.looseObject({ start: z.number(), key: z.string(), sessions: z.number(), tried: z.number(), saved: z.number() }));
export const StoreStatsAnswer = z.looseObject({
  storeId: z.string(),
  timeZone: z.string(),
  from: z.number(),
  to: z.number(),
  sessions: z.number(),
  sessionsTried: z.number(),
  sessionsSaved: z.number(),
  conversion: z.number().nullable(),
  dwell: z.looseObject({ measured: z.number(), medianMs: z.number().nullable() }),
  productsTried: ProductCounts,
  productsSaved: ProductCounts,
  looksSaved: z.number(),
  daily: Buckets,
  devices: z.number(),
  health: z.record(z.string(), z.number()),
});

/** Answers the CLI only acknowledges (uploads). */
export const Acknowledged = z.unknown();

/** `/api/ingest`, read by the fleet bench. */
export const IngestAnswer = z.looseObject({
  ingest: z.looseObject({
    stored: z.looseObject({ metrics: z.number(), events: z.number() }),
    duplicates: z.number(),
    invalid: z.number(),
    lag: z.looseObject({ p50Ms: z.number(), p95Ms: z.number(), maxMs: z.number() }),
  }),
  counts: z.looseObject({ metrics: z.number(), events: z.number() }),
});

const Alert = z.looseObject({
  id: z.string(),
  kind: z.string(),
  subject: z.string(),
  status: z.string(),
  summary: z.string(),
  raisedAt: z.number().nullable(),
  clearedAt: z.number().nullable(),
  flaps: z.number(),
  ackedBy: z.string().nullable(),
});
export const AlertList = z.looseObject({ alerts: z.array(Alert) });
export const AlertAnswer = z.looseObject({ alert: Alert });

/**
 * The recommendation artifact on the mirror, installed through the update path like a catalog
 * (device/update/catalog-host.ts) and read by the advisor:
 *
 *  - TrendsSlot: what serves now (`current()`, null = no artifact: recommend from content alone),
 *    swapped as one reference when an update commits;
 *  - loadCommittedTrends: the committed artifact on boot, or none when it does not load;
 *  - createTrendsHost: the update agent's ModelHost for kind "recommendations", the generic
 *    document host (device/update/document-host.ts) with TRENDS_DOCUMENT: a schema error, a bucket
 *    below its own minSessions, or a version other than the signed one is `bad-recommendations`,
 *    never tried again; the schema is the smoke test.
 *
 * Signature, size and sha256 are checked by the agent before stage (device/update/stage.ts), so
 * a tampered artifact is refused like any other and never reaches this file.
 */
import { RECOMMENDATIONS_NAME, TrendArtifactSchema, type TrendArtifact } from '../../fleet/protocol/recommendations.ts';
import type { Logger } from '../core/logger.ts';
import { createDocumentHost, loadCommittedDocument, type DocumentKind, type DocumentSlot } from '../update/document-host.ts';
import type { HealthSample, ModelHost } from '../update/host.ts';
import type { ServingModel } from '../update/store.ts';

export const TRENDS_FILE = 'recommendations.json';

/** What the advisor reads: one reference, swapped whole. */
export class TrendsSlot {
  #current: TrendArtifact | null;

  constructor(initial: TrendArtifact | null) {
    this.#current = initial;
  }

  /** The installed artifact, or null: then the advisor recommends from content alone. */
  current(): TrendArtifact | null {
    return this.#current;
  }

  swap(next: TrendArtifact | null): TrendArtifact | null {
    const old = this.#current;
    this.#current = next;
    return old;
  }
}

/** Parses artifact bytes; the error names the field. */
export function parseTrends(bytes: Buffer | string): TrendArtifact {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString());
  } catch (err) {
    throw new TypeError(`recommendations: not JSON (${(err as Error).message})`);
  }
  const r = TrendArtifactSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new TypeError(`recommendations field "${i.path.map(String).join('.') || '(root)'}": ${i.message}`);
  }
  return r.data;
}

/** The recommendations as a signed JSON document (device/update/document-host.ts); the schema is the smoke test. */
export const TRENDS_DOCUMENT: DocumentKind<TrendArtifact> = {
  name: RECOMMENDATIONS_NAME,
  file: TRENDS_FILE,
  badReason: 'bad-recommendations',
  parse: parseTrends,
  version: (t) => t.version,
};

const NONE: ServingModel = { version: 'none', dir: null };

function trendsDocumentSlot(slot: Pick<TrendsSlot, 'swap'>): DocumentSlot<TrendArtifact, TrendArtifact | null> {
  return { swap: (next) => slot.swap(next), serve: (t) => t, fallback: () => ({ serving: null, model: NONE }) };
}

/** The artifact serving on boot: the committed one, or none (a committed one that does not load is logged). */
export async function loadCommittedTrends(committed: ServingModel | null, logger: Logger): Promise<{ trends: TrendArtifact | null; model: ServingModel }> {
  const { serving, model } = await loadCommittedDocument(TRENDS_DOCUMENT, trendsDocumentSlot({ swap: (t) => t }), committed, logger);
  return { trends: serving, model };
}

export interface TrendsHostOptions {
  slot: TrendsSlot;
  /** What serves now (from the committed pointer; dir null = none). */
  serving: ServingModel;
  health: () => HealthSample;
  logger: Logger;
}

export function createTrendsHost(opts: TrendsHostOptions): ModelHost {
  return createDocumentHost({ kind: TRENDS_DOCUMENT, slot: trendsDocumentSlot(opts.slot), serving: opts.serving, health: opts.health, logger: opts.logger });
}

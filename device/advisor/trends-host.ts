/**
 * The recommendation artifact on the mirror, installed through the update path like a catalog
 * (device/update/catalog-host.ts) and read by the advisor:
 *
 *  - TrendsSlot: what serves now (`current()`, null = no artifact: recommend from content alone),
 *    swapped as one reference when an update commits;
 *  - loadCommittedTrends: the committed artifact on boot, or none when it does not load;
 *  - createTrendsHost: the update agent's ModelHost for kind "recommendations". Stage: the bytes
 *    are the artifact JSON, checked against the schema (a schema error, a bucket below its own
 *    minSessions, or a version other than the signed one is `bad-recommendations`, never tried
 *    again). Smoke test: the staged file is read and checked again (a power cut may have come
 *    between). Activate/revert swap the slot; the previous artifact is kept until commit.
 *
 * Signature, size and sha256 are checked by the agent before stage (device/update/stage.ts), so
 * a tampered artifact is refused like any other and never reaches this file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../../fleet/protocol/update.ts';
import { RECOMMENDATIONS_NAME, TrendArtifactSchema, type TrendArtifact } from '../../fleet/protocol/recommendations.ts';
import { writeFileDurable } from '../core/fs-atomic.ts';
import type { Logger } from '../core/logger.ts';
import { UpdateStageError, type HealthSample, type ModelCandidate, type ModelHost, type SmokeResult } from '../update/host.ts';
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

async function loadTrendsFile(dir: string): Promise<TrendArtifact> {
  return parseTrends(await readFile(path.join(dir, TRENDS_FILE)));
}

/** The artifact serving on boot: the committed one, or none (a committed one that does not load is logged). */
export async function loadCommittedTrends(committed: ServingModel | null, logger: Logger): Promise<{ trends: TrendArtifact | null; model: ServingModel }> {
  const none = { trends: null, model: { version: 'none', dir: null } };
  if (!committed?.dir) return none;
  try {
    const trends = await loadTrendsFile(committed.dir);
    return { trends, model: { ...committed, version: trends.version } };
  } catch (err) {
    logger.error({ err: (err as Error).message, dir: committed.dir }, 'committed recommendations do not load; recommending from content alone');
    return none;
  }
}

interface TrendsCandidate extends ModelCandidate {
  trends: TrendArtifact;
}

export interface TrendsHostOptions {
  slot: TrendsSlot;
  /** What serves now (from the committed pointer; dir null = none). */
  serving: ServingModel;
  health: () => HealthSample;
  logger: Logger;
}

export function createTrendsHost(opts: TrendsHostOptions): ModelHost {
  const { slot, logger } = opts;
  let serving = opts.serving;
  let previous: { trends: TrendArtifact | null; serving: ServingModel } | null = null;

  const check = (name: string): void => {
    if (name !== RECOMMENDATIONS_NAME) throw new Error(`recommendations host: cannot update "${name}"`);
  };

  return {
    updatable: [RECOMMENDATIONS_NAME],
    serving(name) {
      check(name);
      return serving;
    },
    async stage(artifact: Artifact, file: string, dir: string) {
      check(artifact.name);
      const bytes = await readFile(file);
      let trends: TrendArtifact;
      try {
        trends = parseTrends(bytes);
      } catch (err) {
        throw new UpdateStageError('bad-recommendations', (err as Error).message);
      }
      if (trends.version !== artifact.version) {
        throw new UpdateStageError('bad-recommendations', `recommendations field "version": "${trends.version}", the artifact says "${artifact.version}"`);
      }
      await writeFileDurable(path.join(dir, TRENDS_FILE), bytes);
    },
    async smokeTest(name, dir): Promise<SmokeResult> {
      check(name);
      try {
        const trends = await loadTrendsFile(dir);
        const candidate: TrendsCandidate = { version: trends.version, trends, dispose() {} };
        return { ok: true, candidate };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
    activate(name, candidate, model) {
      check(name);
      const old = slot.swap((candidate as TrendsCandidate).trends);
      previous = { trends: old, serving };
      serving = model;
      logger.info({ version: model.version, previous: previous.serving.version }, 'update: new recommendations serving');
    },
    async revert(name, to) {
      check(name);
      const targetDir = to?.dir ?? null;
      if (previous && (previous.serving.dir ?? null) === targetDir) {
        slot.swap(previous.trends);
        serving = previous.serving;
        previous = null;
        return;
      }
      if ((serving.dir ?? null) === targetDir) return;
      const loaded = await loadCommittedTrends(to, logger);
      slot.swap(loaded.trends);
      serving = loaded.model;
    },
    commit(name) {
      check(name);
      previous = null;
    },
    health: opts.health,
  };
}

/** What `fleet status` and the dashboard show of a rollout: jobs counted by wave and outcome, progress. */
import type { FleetStore, JobOutcome, RolloutRow } from '../store/fleet-store.ts';

export interface WaveSummary {
  wave: number;
  size: number;
  counts: Partial<Record<JobOutcome, number>>;
}

export interface RolloutSummary {
  rollout: RolloutRow;
  artifact: { id: string; name: string; version: string; kind: string } | null;
  waves: WaveSummary[];
  totals: Partial<Record<JobOutcome, number>>;
  /** Succeeded / targets, 0..1. */
  progress: number;
}

export async function rolloutSummary(store: FleetStore, r: RolloutRow): Promise<RolloutSummary> {
  const a = await store.artifacts.getArtifact(r.artifactId);
  const waves: WaveSummary[] = [];
  const totals: Partial<Record<JobOutcome, number>> = {};
  for (const c of await store.rollouts.outcomeCounts(r.id)) {
    let w = waves.find((x) => x.wave === c.wave);
    if (!w) waves.push((w = { wave: c.wave, size: 0, counts: {} }));
    w.size += c.n;
    w.counts[c.outcome] = (w.counts[c.outcome] ?? 0) + c.n;
    totals[c.outcome] = (totals[c.outcome] ?? 0) + c.n;
  }
  waves.sort((x, y) => x.wave - y.wave);
  return {
    rollout: r,
    artifact: a ? { id: a.id, name: a.name, version: a.version, kind: a.kind } : null,
    waves,
    totals,
    progress: r.targets ? (totals.succeeded ?? 0) / r.targets : 0,
  };
}

/**
 * What each alert kind observes, from what the store holds about a device (its status, latest
 * metrics, latest finished update job) and from this service's own ingest counters. Pure: the
 * engine (engine.ts) reads the inputs and applies lifecycle.ts.
 */
import { hottest } from '../health.ts';
import type { DeviceRow } from '../store/fleet-store.ts';
import type { AlertsConfig } from './config.ts';
import type { AlertKind, Observation } from './lifecycle.ts';

/** A device's latest update job that ended (succeeded, failed, timed out). */
export interface FinishedJob {
  jobId: string;
  outcome: string;
  state: string | null;
  reason: string | null;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

function offline(d: DeviceRow, now: number, afterMs: number): Observation | undefined {
  if (d.state === 'unknown') return undefined;
  const silentMs = now - d.lastSeen;
  if (d.state === 'offline') {
    const forMs = now - (d.statusAt ?? d.lastSeen);
    return { raise: forMs >= afterMs, hold: true, summary: `offline for ${minutes(forMs)} (${d.stateReason ?? 'no reason given'})` };
  }
  // Online by its last status, but nothing heard since: a lost will (the broker died too) looks like this.
  const silent = silentMs >= afterMs;
  return { raise: silent, hold: silent, summary: `online but nothing heard for ${minutes(silentMs)}` };
}

/**
 * Every device rule's observation, by kind. The metric rules say nothing (undefined) unless the
 * device is online with recent metrics: an offline mirror's last fps is neither a problem nor a cure.
 */
export function deviceObservations(d: DeviceRow, job: FinishedJob | undefined, now: number, cfg: AlertsConfig): Map<AlertKind, Observation | undefined> {
  const out = new Map<AlertKind, Observation | undefined>();
  const afterMs = cfg.offline.afterS * 1000;
  if (cfg.offline.enabled) out.set('offline', offline(d, now, afterMs));
  const fresh = d.state === 'online' && d.metricsAt !== null && now - d.lastSeen < afterMs;
  if (cfg.fps.enabled) {
    const f = cfg.fps;
    out.set('fps', fresh && d.fps !== null ? { raise: d.fps < f.below, hold: d.fps < f.clearAbove, summary: `fps ${d.fps.toFixed(1)} below ${f.below}` } : undefined);
  }
  if (cfg.temperature.enabled) {
    const t = cfg.temperature;
    const hot = fresh ? hottest(d) : undefined;
    out.set('temperature', hot === undefined ? (fresh ? { raise: false, hold: false, summary: '' } : undefined) : {
      raise: hot[1] > t.aboveC,
      hold: hot[1] > t.clearBelowC,
      summary: `${hot[0]} ${hot[1].toFixed(0)} °C above ${t.aboveC} °C`,
    });
  }
  if (cfg.degraded.enabled) {
    const parts = d.degraded ?? [];
    const summary = `degraded: ${parts.map((p) => `${p.component} (${p.reason})`).join(', ')}`.slice(0, 300);
    out.set('degraded', fresh ? { raise: parts.length > 0, hold: parts.length > 0, summary } : undefined);
  }
  if (cfg.updateFailed.enabled) {
    const failed = job !== undefined && (job.outcome === 'failed' || job.outcome === 'timed-out');
    out.set(
      'update-failed',
      job === undefined ? undefined : { raise: failed, hold: failed, summary: `update job ${job.jobId} ${job.state ?? job.outcome}${job.reason ? ` (${job.reason})` : ''}` },
    );
  }
  return out;
}

/** This instance's ingest, as the ingest-stuck rule sees it. */
export interface IngestView {
  waitingSince: number | undefined;
  /** Device timestamp → stored, p95 over the most recent messages (undefined: none lately). */
  recentLagP95Ms: number | undefined;
  /** Messages this instance dead-lettered within the rule's window. */
  deadLettersInWindow: number;
}

export function ingestObservation(v: IngestView, now: number, cfg: AlertsConfig['ingestStuck']): Observation {
  const problems: string[] = [];
  const waited = v.waitingSince === undefined ? 0 : now - v.waitingSince;
  if (waited >= cfg.waitingS * 1000) problems.push(`a message has waited ${Math.round(waited / 1000)} s unacknowledged`);
  if (v.recentLagP95Ms !== undefined && v.recentLagP95Ms >= cfg.lagP95S * 1000) problems.push(`ingest lag p95 ${(v.recentLagP95Ms / 1000).toFixed(1)} s`);
  if (v.deadLettersInWindow >= cfg.deadLetters) problems.push(`${v.deadLettersInWindow} dead letters in ${cfg.windowS} s`);
  return { raise: problems.length > 0, hold: problems.length > 0, summary: `ingest stuck: ${problems.join('; ')}` };
}

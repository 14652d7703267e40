/** A device's health as the dashboard shows it, and the service's own: one word and the reasons. */
import type { IngestStats } from './ingest.ts';
import type { DeviceRow } from './store/fleet-store.ts';

export type HealthWord = 'ok' | 'degraded' | 'silent' | 'offline' | 'unknown';

export const HEALTH_LIMITS = {
  /** Online but nothing heard for this long. */
  silentAfterMs: 5 * 60_000,
  minFps: 20,
  maxP95Ms: 100,
  /** Any reported temperature (a thermal zone or the GPU) above this, °C: thermal throttling is near. */
  maxTemperatureC: 90,
};

/** The hottest temperature the device reported (a thermal zone or the GPU), as [name, °C]. */
export function hottest(d: Pick<DeviceRow, 'system'>): [string, number] | undefined {
  const temps = { ...d.system?.temperaturesC, ...(d.system?.gpuTemperatureC === undefined ? {} : { gpu: d.system.gpuTemperatureC }) };
  return Object.entries(temps).sort((a, b) => b[1] - a[1])[0];
}

export function deviceHealth(d: DeviceRow, now: number): { health: HealthWord; problems: string[] } {
  if (d.state === 'offline') return { health: 'offline', problems: [d.stateReason ?? 'offline'] };
  if (d.state === 'unknown') return { health: 'unknown', problems: ['no status yet'] };
  if (now - d.lastSeen > HEALTH_LIMITS.silentAfterMs) return { health: 'silent', problems: [`nothing heard for ${Math.round((now - d.lastSeen) / 1000)} s`] };
  const problems: string[] = [];
  if (d.fps !== null && d.fps < HEALTH_LIMITS.minFps) problems.push(`fps ${d.fps.toFixed(1)} < ${HEALTH_LIMITS.minFps}`);
  if (d.latencyP95Ms !== null && d.latencyP95Ms > HEALTH_LIMITS.maxP95Ms) problems.push(`p95 ${d.latencyP95Ms.toFixed(0)} ms > ${HEALTH_LIMITS.maxP95Ms}`);
  const hot = hottest(d);
  if (hot && hot[1] > HEALTH_LIMITS.maxTemperatureC) problems.push(`${hot[0]} ${hot[1].toFixed(0)} °C > ${HEALTH_LIMITS.maxTemperatureC}`);
  return { health: problems.length ? 'degraded' : 'ok', problems };
}

/**
 * The fleet service's own health (`/healthz`): degraded when the MQTT link is down, or when the
 * ingest is stuck: a message has waited `stuckAfterMs` with nothing acknowledged since (the
 * broker keeps delivering, nothing gets stored).
 */
export function serviceHealth(
  ingest: Pick<IngestStats, 'connected' | 'waitingSince' | 'lastAckAt'>,
  opts: { now: number; stuckAfterMs: number; mqtt: boolean },
): { status: 'ok' | 'degraded'; problems: string[]; ingestStuckForS: number } {
  const problems: string[] = [];
  if (opts.mqtt && !ingest.connected) problems.push('MQTT not connected');
  const waited = ingest.waitingSince === undefined ? 0 : opts.now - ingest.waitingSince;
  if (waited >= opts.stuckAfterMs) {
    const last = ingest.lastAckAt === undefined ? 'never' : `${Math.round((opts.now - ingest.lastAckAt) / 1000)} s ago`;
    problems.push(`ingest stuck: a message has waited ${Math.round(waited / 1000)} s; last stored ${last}`);
  }
  return { status: problems.length ? 'degraded' : 'ok', problems, ingestStuckForS: Math.floor(waited / 1000) };
}

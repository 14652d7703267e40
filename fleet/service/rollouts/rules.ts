/**
 * The rollout rules as plain functions over jobs and options (no store, no clock of their own):
 * the options a rollout runs with, how targets become jobs, when a wave pauses the rollout, when
 * a job is stuck. The engine (engine.ts) applies them under its lock.
 */
import { TERMINAL_UPDATE_STATES, type UpdateState } from '../../protocol/update.ts';
import type { FleetConfig } from '../config.ts';
import type { ArtifactRow, DeviceRow, JobOutcome, JobRow } from '../store/fleet-store.ts';

export interface RolloutOptions {
  canaryPercent: number;
  waveGrowth: number;
  failureThreshold: number;
  minDevicesDone: number;
  stuckTimeoutS: number;
  watchSeconds: number;
  transfer: 'mqtt' | 'http';
}

export class RolloutError extends Error {
  constructor(
    readonly code: 'not-found' | 'bad-request' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

/** Jobs a device is working on. */
export const ACTIVE: readonly JobOutcome[] = ['offered', 'in-progress', 'committed'];
/** Outcomes that no longer hold a wave back. */
export const SETTLED: ReadonlySet<JobOutcome> = new Set(['succeeded', 'failed', 'timed-out', 'cancelled', 'skipped', 'queued']);
export const FAILED: ReadonlySet<JobOutcome> = new Set(['failed', 'timed-out']);

/** The service's defaults, overridden by the push; every value checked, naming the option. */
export function resolveOptions(input: Partial<RolloutOptions> | undefined, c: Omit<FleetConfig['rollouts'], 'leaseTtlMs'>, publicUrl: string | undefined): RolloutOptions {
  const o: RolloutOptions = {
    canaryPercent: 5,
    waveGrowth: c.waveGrowth,
    failureThreshold: c.failureThreshold,
    minDevicesDone: c.minDevicesDone,
    stuckTimeoutS: c.stuckTimeoutS,
    watchSeconds: c.watchSeconds,
    transfer: 'mqtt',
    ...input,
  };
  const bad = (option: string, rule: string) => new RolloutError('bad-request', `options.${option}: ${rule}`);
  if (!(o.canaryPercent > 0 && o.canaryPercent <= 100)) throw bad('canaryPercent', 'must be in (0, 100]');
  if (!(o.waveGrowth >= 1 && o.waveGrowth <= 10)) throw bad('waveGrowth', 'must be in [1, 10]');
  if (!(o.failureThreshold >= 0 && o.failureThreshold <= 1)) throw bad('failureThreshold', 'must be in [0, 1]');
  if (!(Number.isInteger(o.minDevicesDone) && o.minDevicesDone >= 1)) throw bad('minDevicesDone', 'must be an integer >= 1');
  if (!(o.stuckTimeoutS > 0)) throw bad('stuckTimeoutS', 'must be > 0');
  if (!(Number.isInteger(o.watchSeconds) && o.watchSeconds >= 1 && o.watchSeconds <= 86_400)) throw bad('watchSeconds', 'must be an integer in [1, 86400]');
  if (o.transfer !== 'mqtt' && o.transfer !== 'http') throw bad('transfer', 'must be mqtt or http');
  if (o.transfer === 'http' && !publicUrl) throw bad('transfer', "http needs the service's publicUrl configured");
  return o;
}

/**
 * One job per target, in wave order: skipped where the device must never get this artifact again
 * (`blocked`, see FleetStore.blockedDevices) or already serves its version; pending otherwise.
 */
export function planJobs(
  rolloutId: string,
  artifact: ArtifactRow,
  targets: DeviceRow[],
  waveSizes: number[],
  blocked: ReadonlySet<string>,
  now: number,
  newJobId: () => string,
): JobRow[] {
  const jobs: JobRow[] = [];
  let i = 0;
  waveSizes.forEach((size, wave) => {
    for (let k = 0; k < size; k++, i++) {
      const t = targets[i];
      const skip = blocked.has(`${t.storeId}/${t.deviceId}`);
      const alreadyServing = t.models[artifact.name] === artifact.version;
      jobs.push({
        jobId: newJobId(),
        rolloutId,
        storeId: t.storeId,
        deviceId: t.deviceId,
        artifactId: artifact.id,
        wave,
        outcome: skip || alreadyServing ? 'skipped' : 'pending',
        state: null,
        reason: skip ? 'previously-rolled-back' : alreadyServing ? 'already-serving' : null,
        offeredAt: null,
        updatedAt: now,
        received: null,
        servingVersion: null,
      });
    }
  });
  return jobs;
}

export interface WaveVerdict {
  /** Devices done (succeeded or failed) and how many of them failed. */
  done: number;
  failures: number;
  /** Set when the wave's failures pause the rollout (AWS IoT Jobs' abort rule, as a pause). */
  pauseReason?: string;
  /** Every job of the wave has ended (or waits offline): the next wave may open. */
  settled: boolean;
}

/**
 * The pause rule: at least `minDevicesDone` devices done (or every eligible device, when the wave
 * is smaller), and a failure rate strictly above `failureThreshold`. A wave whose failures an
 * operator acknowledged by resuming (`acknowledged`) does not pause again.
 */
export function waveVerdict(jobs: readonly JobRow[], opts: RolloutOptions, wave: number, acknowledged: boolean): WaveVerdict {
  const done = jobs.filter((j) => j.outcome === 'succeeded' || FAILED.has(j.outcome)).length;
  const failures = jobs.filter((j) => FAILED.has(j.outcome)).length;
  const eligible = jobs.filter((j) => j.outcome !== 'skipped').length;
  const minDone = Math.max(1, Math.min(opts.minDevicesDone, eligible));
  const settled = jobs.every((j) => SETTLED.has(j.outcome));
  if (!acknowledged && done >= minDone && failures / done > opts.failureThreshold) {
    const pct = (x: number) => (100 * x).toFixed(1);
    return { done, failures, settled, pauseReason: `wave ${wave}: ${failures} of ${done} devices failed (${pct(failures / done)}% > ${pct(opts.failureThreshold)}%)` };
  }
  return { done, failures, settled };
}

/**
 * Why an active job counts as stuck at `now`, or undefined. A device reports nothing while it
 * watches the new model's health (offer.watchSeconds): that silence is not being stuck.
 */
export function stuckReason(j: JobRow, opts: RolloutOptions, now: number): 'not-serving-new-version' | 'no-progress' | undefined {
  const watching = j.state === 'active' || j.state === 'watching' ? opts.watchSeconds * 1000 : 0;
  if (!ACTIVE.includes(j.outcome) || j.updatedAt > now - opts.stuckTimeoutS * 1000 - watching) return undefined;
  return j.outcome === 'committed' ? 'not-serving-new-version' : 'no-progress';
}

/**
 * What a device's `update/state` report does to its job: undefined when it changes nothing (a
 * late report of an earlier step after the job ended), else the patch. A job ended here (timed
 * out, cancelled) keeps its outcome and the server's reason; the device's state is still recorded.
 */
export function jobPatchFor(
  j: Pick<JobRow, 'outcome' | 'state'>,
  s: Pick<UpdateState, 'state' | 'reason' | 'received' | 'servingVersion'>,
): Pick<JobRow, 'outcome'> & Partial<Pick<JobRow, 'state' | 'reason' | 'received' | 'servingVersion'>> | undefined {
  if (j.state !== null && TERMINAL_UPDATE_STATES.has(j.state as UpdateState['state']) && !TERMINAL_UPDATE_STATES.has(s.state)) return undefined;
  const open = j.outcome === 'offered' || j.outcome === 'in-progress' || j.outcome === 'committed' || j.outcome === 'queued';
  let outcome: JobOutcome = j.outcome;
  if (open) {
    if (s.state === 'committed') outcome = 'committed';
    else if (s.state === 'failed' || s.state === 'rejected' || s.state === 'rolled-back') outcome = 'failed';
    else outcome = 'in-progress';
  }
  return {
    outcome,
    state: s.state,
    reason: open ? (s.reason ?? (outcome === 'failed' ? s.state : undefined)) : undefined,
    received: s.received,
    servingVersion: s.servingVersion,
  };
}

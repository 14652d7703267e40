/**
 * Rollout campaigns. A rollout resolves its targets once (selector → ordered devices), splits them
 * into a canary and waves that grow by `waveGrowth`, and opens the next wave only when every job
 * of the current one has ended. The rules from the Fleet bar:
 *
 * - A job succeeds only when the device reported `committed` AND its own telemetry or status
 *   shows the artifact's version serving (hawkBit advanced on "files written" once).
 * - A job with no progress for `stuckTimeoutS` is timed out here, on the server, and counts as a
 *   failure; the device is told to abort.
 * - When a wave's failure rate exceeds `failureThreshold` with at least `minDevicesDone` devices
 *   done (or the whole wave, when smaller), the rollout pauses itself (AWS IoT Jobs' abort rule,
 *   but a pause: an operator decides). Resume acknowledges that wave's failures.
 * - A device that rolled back or rejected an artifact is never offered it again (Mender's loop).
 * - Devices offline when their wave opens are `queued` and offered on their next birth; they do
 *   not hold a wave back.
 *
 * Several instances of the service may share one database. Only the holder of the `rollouts`
 * lease (lease.ts) ticks (stuck jobs, waves that settled with nobody reporting); device reports,
 * which the shared-subscription ingest hands to any instance, evaluate where they arrive. Every
 * rollout transition is a conditional write (from this wave, while running), so two instances
 * evaluating the same settled wave open the next one once.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  MAX_CHUNK_BYTES,
  UpdateCancelSchema,
  UpdateOfferSchema,
  ChunkSchema,
  type ChunkRequest,
  type UpdateState,
} from '../../protocol/update.ts';
import { updateTopic, type DeviceAddress } from '../../protocol/topics.ts';
import type { FleetConfig } from '../config.ts';
import type { Lease, LeaseStatus } from '../lease.ts';
import { Lock } from '../lock.ts';
import type { ArtifactRow, FleetStore, JobRow, RolloutRow } from '../store/fleet-store.ts';
import { publicArtifact, type ArtifactStore } from './artifacts.ts';
import { ACTIVE, jobPatchFor, planJobs, resolveOptions, RolloutError, stuckReason, waveVerdict, type RolloutOptions } from './rules.ts';
import { planWaves, selectDevices, SelectorSchema, type Selector } from './selector.ts';
import { rolloutSummary, type RolloutSummary } from './summary.ts';

export { RolloutError, type RolloutOptions } from './rules.ts';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type RolloutsConfig = Omit<FleetConfig['rollouts'], 'leaseTtlMs'>;

export interface CreateRolloutInput {
  artifactId: string;
  selector: Selector;
  options?: Partial<RolloutOptions>;
}

export interface EngineDeps {
  store: FleetStore;
  artifacts: ArtifactStore;
  publish: (topic: string, payload: Buffer) => Promise<void>;
  log: Logger;
  /** The lease's TTL is the lease's business (app.ts builds it), not the engine's. */
  config: RolloutsConfig;
  /** Base URL for HTTP downloads; without it `transfer: http` is refused. */
  publicUrl?: string;
  downloadSecret: string;
  now?: () => number;
  /** With several instances on one database: only this lease's holder ticks. Without: this instance always does. */
  lease?: Lease;
}

export class RolloutEngine {
  private readonly lock = new Lock();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly lastProgress = new Map<string, number>();
  private readonly pendingEval = new Set<string>();
  /** The timer's round in flight (lease + tick): the next waits for it, and so does stop(). */
  private round: Promise<void> | undefined;
  private ticks = 0;

  constructor(private readonly d: EngineDeps) {
    this.now = d.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.round) return;
      this.round = this.leadTick()
        .catch((err) => this.d.log.error({ err: String(err) }, 'rollout tick failed'))
        .finally(() => (this.round = undefined));
    }, this.d.config.tickMs);
    this.timer.unref();
  }

  /** Stops ticking and hands the lease over (the next instance need not wait for it to expire). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A round in flight would renew the lease after we hand it back.
    await this.round;
    await this.d.lease?.release().catch((err) => this.d.log.warn({ err: String(err) }, 'lease release failed; it expires by itself'));
  }

  /** One round of the timer: a tick, by the lease holder only. */
  private async leadTick(): Promise<void> {
    if (this.d.lease && !(await this.d.lease.hold())) return;
    this.ticks++;
    await this.tick();
  }

  /** Whether this instance runs the ticks (holds the lease), and how many it ran. */
  leadership(): Partial<LeaseStatus> & { leader: boolean; ticks: number } {
    return { ...(this.d.lease?.status() ?? { leader: this.timer !== undefined }), ticks: this.ticks };
  }

  downloadSignature(jobId: string): string {
    return createHmac('sha256', this.d.downloadSecret).update(jobId).digest('base64url').slice(0, 32);
  }

  // ---- operator actions --------------------------------------------------------------------

  async create(input: CreateRolloutInput, actor: string): Promise<RolloutRow> {
    const sel = SelectorSchema.safeParse(input.selector);
    if (!sel.success) throw new RolloutError('bad-request', `selector.${sel.error.issues[0].path.join('.')}: ${sel.error.issues[0].message}`);
    const opts = resolveOptions(input.options, this.d.config, this.d.publicUrl);
    const artifact = await this.d.store.artifacts.getArtifact(input.artifactId);
    if (artifact === undefined) throw new RolloutError('not-found', `artifactId: no artifact "${input.artifactId}"`);

    return this.lock.run(async () => {
      const now = this.now();
      const id = `ro-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
      const targets = selectDevices(await this.d.store.devices.listDevices(), sel.data, id);
      if (targets.length === 0) throw new RolloutError('bad-request', 'selector: matches no known device');
      const sizes = planWaves(targets.length, opts.canaryPercent, opts.waveGrowth);
      const blocked = await this.d.store.rollouts.blockedDevices(artifact.id);
      const jobs = planJobs(id, artifact, targets, sizes, blocked, now, () => `j${randomBytes(10).toString('hex')}`);
      const row: RolloutRow = {
        id,
        artifactId: artifact.id,
        selector: sel.data,
        status: 'running',
        statusReason: null,
        options: opts,
        wave: 0,
        waves: sizes.length,
        resumedWave: -1,
        targets: targets.length,
        createdBy: actor,
        createdAt: now,
        updatedAt: now,
      };
      await this.d.store.rollouts.createRollout(row, jobs);
      await this.d.store.auditLog.audit(actor, 'rollout.push', id, { artifactId: artifact.id, selector: sel.data, options: opts, waves: sizes }, now);
      this.d.log.info({ rolloutId: id, artifactId: artifact.id, targets: targets.length, waves: sizes }, 'rollout created');
      await this.openWave(row, artifact, 0);
      await this.evaluateLocked(id);
      return (await this.d.store.rollouts.getRollout(id))!;
    });
  }

  private async mustGet(id: string): Promise<RolloutRow> {
    const r = await this.d.store.rollouts.getRollout(id);
    if (r === undefined) throw new RolloutError('not-found', `no rollout "${id}"`);
    return r;
  }

  async pause(id: string, actor: string, reason = 'paused by operator'): Promise<RolloutRow> {
    return this.lock.run(async () => {
      const r = await this.mustGet(id);
      if (r.status !== 'running') throw new RolloutError('conflict', `rollout ${id} is ${r.status}, not running`);
      const now = this.now();
      if (!(await this.d.store.rollouts.updateRollout(id, { status: 'paused', statusReason: reason }, now, { status: 'running' }))) {
        throw new RolloutError('conflict', `rollout ${id} changed meanwhile; try again`);
      }
      await this.d.store.auditLog.audit(actor, 'rollout.pause', id, { reason, wave: r.wave }, now);
      return (await this.d.store.rollouts.getRollout(id))!;
    });
  }

  async resume(id: string, actor: string): Promise<RolloutRow> {
    return this.lock.run(async () => {
      const r = await this.mustGet(id);
      if (r.status !== 'paused') throw new RolloutError('conflict', `rollout ${id} is ${r.status}, not paused`);
      const now = this.now();
      // Resuming acknowledges the failures of the wave that paused it.
      if (!(await this.d.store.rollouts.updateRollout(id, { status: 'running', statusReason: null, resumedWave: r.wave }, now, { status: 'paused' }))) {
        throw new RolloutError('conflict', `rollout ${id} changed meanwhile; try again`);
      }
      await this.d.store.auditLog.audit(actor, 'rollout.resume', id, { wave: r.wave, pausedFor: r.statusReason }, now);
      await this.offerQueuedOnline(id);
      await this.evaluateLocked(id);
      return (await this.d.store.rollouts.getRollout(id))!;
    });
  }

  async abort(id: string, actor: string): Promise<RolloutRow> {
    return this.stopRollout(id, actor, 'abort');
  }

  async rollback(id: string, actor: string): Promise<RolloutRow> {
    return this.stopRollout(id, actor, 'rollback');
  }

  private async stopRollout(id: string, actor: string, action: 'abort' | 'rollback'): Promise<RolloutRow> {
    return this.lock.run(async () => {
      const r = await this.mustGet(id);
      const ended = r.status === 'aborted' || r.status === 'rolled-back' || (r.status === 'completed' && action === 'abort');
      if (ended) throw new RolloutError('conflict', `rollout ${id} is ${r.status}`);
      const now = this.now();
      let told = 0;
      for (const j of await this.d.store.rollouts.jobs(id)) {
        const switched = j.outcome === 'succeeded' || j.outcome === 'committed' || j.state === 'active' || j.state === 'watching';
        if (j.outcome === 'pending' || j.outcome === 'queued') {
          await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'cancelled', reason: action }, now);
        } else if (ACTIVE.includes(j.outcome) || (action === 'rollback' && j.outcome === 'succeeded')) {
          await this.sendCancel(j, action === 'rollback' && switched ? 'rollback' : 'abort');
          told++;
          await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'cancelled', reason: action }, now);
        }
      }
      const status = action === 'abort' ? 'aborted' : 'rolled-back';
      await this.d.store.rollouts.updateRollout(id, { status, statusReason: `${action} by ${actor}` }, now);
      await this.d.store.auditLog.audit(actor, `rollout.${action}`, id, { devicesTold: told, wave: r.wave }, now);
      this.d.log.info({ rolloutId: id, action, devicesTold: told }, 'rollout stopped');
      return (await this.d.store.rollouts.getRollout(id))!;
    });
  }

  // ---- device messages ---------------------------------------------------------------------

  /** An `update/state` report (already validated and de-duplicated by msgId). */
  async onUpdateState(addr: DeviceAddress, s: UpdateState): Promise<{ ok: boolean; field?: string; error?: string }> {
    return this.lock.run(async () => {
      const j = await this.d.store.rollouts.getJob(s.jobId);
      if (j === undefined) return { ok: false, field: 'jobId', error: `jobId: unknown job "${s.jobId}"` };
      if (j.storeId !== addr.storeId || j.deviceId !== addr.deviceId) {
        return { ok: false, field: 'jobId', error: `jobId: job "${s.jobId}" belongs to another device` };
      }
      if (j.rolloutId !== s.rolloutId || j.artifactId !== s.artifactId) {
        return { ok: false, field: 'artifactId', error: 'artifactId: does not match the job' };
      }
      const patch = jobPatchFor(j, s);
      if (patch === undefined) return { ok: true }; // a late report of an earlier step
      await this.d.store.rollouts.updateJob(j.jobId, patch, this.now());
      if (patch.outcome === 'committed') await this.confirmServing(j.storeId, j.deviceId);
      this.scheduleEvaluate(j.rolloutId);
      return { ok: true };
    });
  }

  /** Answers `update/request` with `update/chunk` from the artifact store. */
  async onChunkRequest(addr: DeviceAddress, req: ChunkRequest): Promise<{ ok: boolean; field?: string; error?: string }> {
    const j = await this.d.store.rollouts.getJob(req.jobId);
    if (j === undefined || j.storeId !== addr.storeId || j.deviceId !== addr.deviceId) {
      return { ok: false, field: 'jobId', error: `jobId: no job "${req.jobId}" for this device` };
    }
    if (!(j.outcome === 'offered' || j.outcome === 'in-progress')) {
      return { ok: false, field: 'jobId', error: `jobId: job "${req.jobId}" is ${j.outcome}` };
    }
    const a = await this.d.store.artifacts.getArtifact(j.artifactId);
    if (a === undefined) return { ok: false, field: 'jobId', error: 'jobId: artifact gone' };
    const chunks = Math.ceil(a.size / MAX_CHUNK_BYTES);
    if (req.index >= chunks) return { ok: false, field: 'index', error: `index: ${req.index} beyond the last chunk ${chunks - 1}` };
    const data = await this.d.artifacts.read(a, req.index * MAX_CHUNK_BYTES, MAX_CHUNK_BYTES);
    const chunk = ChunkSchema.parse({ v: 1, jobId: j.jobId, index: req.index, data: data.toString('base64') });
    await this.d.publish(updateTopic(addr, 'chunk'), Buffer.from(JSON.stringify(chunk)));
    // A chunk request is progress: keep the stuck timer from firing (at most one write a second).
    const now = this.now();
    if ((this.lastProgress.get(j.jobId) ?? 0) < now - 1000) {
      this.lastProgress.set(j.jobId, now);
      await this.lock.run(() => this.d.store.rollouts.updateJob(j.jobId, { received: req.index * MAX_CHUNK_BYTES }, now));
    }
    return { ok: true };
  }

  /** A device's birth (status online, applied): offer what waits for it. */
  async onBirth(addr: DeviceAddress): Promise<void> {
    await this.lock.run(async () => {
      const jobs = await this.d.store.rollouts.deviceJobs(addr.storeId, addr.deviceId, ['queued', 'offered']);
      for (const j of jobs) {
        const r = await this.d.store.rollouts.getRollout(j.rolloutId);
        if (r?.status !== 'running') continue;
        const a = await this.d.store.artifacts.getArtifact(j.artifactId);
        if (a) await this.sendOffer(j, r, a);
      }
    });
  }

  /** Telemetry or status showed this device's model versions: confirm committed jobs. */
  async onModels(addr: DeviceAddress): Promise<void> {
    await this.lock.run(() => this.confirmServing(addr.storeId, addr.deviceId));
  }

  private async confirmServing(storeId: string, deviceId: string): Promise<void> {
    const jobs = await this.d.store.rollouts.deviceJobs(storeId, deviceId, ['committed']);
    if (jobs.length === 0) return;
    const dev = await this.d.store.devices.getDevice(storeId, deviceId);
    if (dev === undefined) return;
    for (const j of jobs) {
      const a = await this.d.store.artifacts.getArtifact(j.artifactId);
      if (a && dev.models[a.name] === a.version) {
        await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'succeeded', servingVersion: a.version }, this.now());
        this.scheduleEvaluate(j.rolloutId);
      }
    }
  }

  // ---- waves -------------------------------------------------------------------------------

  private async sendOffer(j: JobRow, r: RolloutRow, a: ArtifactRow): Promise<void> {
    const opts = r.options as RolloutOptions;
    const transfer =
      opts.transfer === 'http' && this.d.publicUrl
        ? { type: 'http' as const, url: `${this.d.publicUrl.replace(/\/$/, '')}/dl/${j.jobId}/${this.downloadSignature(j.jobId)}` }
        : { type: 'mqtt' as const, chunkSize: MAX_CHUNK_BYTES, chunks: Math.ceil(a.size / MAX_CHUNK_BYTES) };
    const offer = UpdateOfferSchema.parse({
      v: 1,
      jobId: j.jobId,
      rolloutId: r.id,
      artifact: publicArtifact(a),
      transfer,
      watchSeconds: opts.watchSeconds,
      ts: this.now(),
    });
    await this.d.publish(updateTopic(j, 'offer'), Buffer.from(JSON.stringify(offer)));
    const now = this.now();
    await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'offered', offeredAt: now }, now);
  }

  private async sendCancel(j: JobRow, action: 'abort' | 'rollback'): Promise<void> {
    const msg = UpdateCancelSchema.parse({ v: 1, jobId: j.jobId, action, ts: this.now() });
    await this.d.publish(updateTopic(j, 'cancel'), Buffer.from(JSON.stringify(msg)));
  }

  /** Offers wave `wave`'s jobs; moving on from `r.wave`, only if no other instance has moved it on first. */
  private async openWave(r: RolloutRow, a: ArtifactRow, wave: number): Promise<void> {
    const now = this.now();
    if (wave !== r.wave && !(await this.d.store.rollouts.updateRollout(r.id, { wave }, now, { status: 'running', wave: r.wave }))) {
      this.d.log.info({ rolloutId: r.id, wave }, 'wave already opened or rollout stopped elsewhere');
      return;
    }
    await this.offerPending({ ...r, wave }, a, now);
    this.d.log.info({ rolloutId: r.id, wave }, 'wave opened');
  }

  /** Offers (or queues, or skips) the jobs of `r.wave` that nobody has offered yet. */
  private async offerPending(r: RolloutRow, a: ArtifactRow, now: number): Promise<number> {
    const blocked = await this.d.store.rollouts.blockedDevices(a.id);
    let handled = 0;
    for (const j of await this.d.store.rollouts.jobs(r.id, r.wave)) {
      if (j.outcome !== 'pending') continue;
      handled++;
      if (blocked.has(`${j.storeId}/${j.deviceId}`)) {
        await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'skipped', reason: 'previously-rolled-back' }, now);
        continue;
      }
      const dev = await this.d.store.devices.getDevice(j.storeId, j.deviceId);
      if (dev?.state === 'online') await this.sendOffer(j, r, a);
      else await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'queued' }, now);
    }
    return handled;
  }

  /**
   * A wave whose opener stopped half-way (killed, or a publish failed after the wave moved) keeps
   * jobs `pending` that nothing else would ever offer. Once the wave has been open longer than the
   * stuck timeout (so its opener, if alive, is long done), the ticking instance offers them.
   */
  private async resumeHalfOpenedWave(r: RolloutRow, jobs: readonly JobRow[], now: number): Promise<void> {
    if (r.status !== 'running' || r.updatedAt > now - (r.options as RolloutOptions).stuckTimeoutS * 1000) return;
    if (!jobs.some((j) => j.wave === r.wave && j.outcome === 'pending')) return;
    const a = await this.d.store.artifacts.getArtifact(r.artifactId);
    if (a === undefined) return;
    const offered = await this.offerPending(r, a, now);
    this.d.log.warn({ rolloutId: r.id, wave: r.wave, jobs: offered }, 'wave resumed: its opener stopped before offering every job');
  }

  private async offerQueuedOnline(id: string): Promise<void> {
    const r = await this.mustGet(id);
    const a = await this.d.store.artifacts.getArtifact(r.artifactId);
    if (!a) return;
    for (const j of await this.d.store.rollouts.jobs(id)) {
      if (j.outcome !== 'queued') continue;
      const dev = await this.d.store.devices.getDevice(j.storeId, j.deviceId);
      if (dev?.state === 'online') await this.sendOffer(j, r, a);
    }
  }

  private scheduleEvaluate(id: string): void {
    if (this.pendingEval.has(id)) return;
    this.pendingEval.add(id);
    setImmediate(() => {
      this.pendingEval.delete(id);
      this.lock.run(() => this.evaluateLocked(id)).catch((err) => this.d.log.error({ err: String(err), rolloutId: id }, 'evaluate failed'));
    });
  }

  /** Auto-pause, wave completion, next wave. Runs under the lock. */
  private async evaluateLocked(id: string): Promise<void> {
    for (;;) {
      const r = await this.d.store.rollouts.getRollout(id);
      if (r === undefined || r.status !== 'running') return;
      const v = waveVerdict(await this.d.store.rollouts.jobs(id, r.wave), r.options as RolloutOptions, r.wave, r.resumedWave === r.wave);
      const now = this.now();
      if (v.pauseReason !== undefined) {
        if (!(await this.d.store.rollouts.updateRollout(id, { status: 'paused', statusReason: v.pauseReason }, now, { status: 'running', wave: r.wave }))) continue;
        await this.d.store.auditLog.audit('system', 'rollout.auto-pause', id, { wave: r.wave, failures: v.failures, done: v.done }, now);
        this.d.log.warn({ rolloutId: id, wave: r.wave, failures: v.failures, done: v.done }, 'rollout auto-paused');
        return;
      }
      if (!v.settled) return;
      if (r.wave + 1 >= r.waves) return this.finishLocked(r, now);
      const a = await this.d.store.artifacts.getArtifact(r.artifactId);
      if (a === undefined) return;
      await this.openWave(r, a, r.wave + 1);
    }
  }

  /** The last wave settled: completed, unless offline devices still wait for their offer. */
  private async finishLocked(r: RolloutRow, now: number): Promise<void> {
    // Offline devices did not hold a wave back, but the rollout is not done without them.
    const waiting = (await this.d.store.rollouts.jobs(r.id)).filter((j) => j.outcome === 'queued').length;
    if (waiting > 0) {
      const reason = `waiting for ${waiting} offline device${waiting === 1 ? '' : 's'}`;
      if (r.statusReason !== reason) await this.d.store.rollouts.updateRollout(r.id, { statusReason: reason }, now);
      return;
    }
    if (!(await this.d.store.rollouts.updateRollout(r.id, { status: 'completed', statusReason: null }, now, { status: 'running', wave: r.wave }))) return;
    await this.d.store.auditLog.audit('system', 'rollout.complete', r.id, { waves: r.waves }, now);
    this.d.log.info({ rolloutId: r.id }, 'rollout completed');
  }

  /** Stuck jobs time out; running rollouts re-evaluate. */
  async tick(): Promise<void> {
    await this.lock.run(async () => {
      const now = this.now();
      for (const r of await this.d.store.rollouts.listRollouts(['running', 'paused'])) {
        const jobs = await this.d.store.rollouts.jobs(r.id);
        await this.resumeHalfOpenedWave(r, jobs, now);
        let changed = false;
        for (const j of jobs) {
          const reason = stuckReason(j, r.options as RolloutOptions, now);
          if (reason === undefined) continue;
          if (j.outcome !== 'committed') await this.sendCancel(j, 'abort');
          await this.d.store.rollouts.updateJob(j.jobId, { outcome: 'timed-out', reason }, now);
          this.d.log.warn({ rolloutId: r.id, jobId: j.jobId, deviceId: j.deviceId, reason }, 'job timed out');
          changed = true;
        }
        if (changed || r.status === 'running') await this.evaluateLocked(r.id);
      }
    });
  }

  async summary(id: string): Promise<RolloutSummary> {
    return rolloutSummary(this.d.store, await this.mustGet(id));
  }
}

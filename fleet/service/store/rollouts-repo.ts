/**
 * Rollouts and their jobs (one per target device).
 */
import { blocksArtifact } from '../../protocol/update.ts';
import { num, type SqlDriver, type SqlValue } from './driver.ts';
import { inList, json, str, toJob, toRollout, type JobOutcome, type JobRow, type RolloutRow, type RolloutStatus } from './rows.ts';

export class RolloutsRepo {
  constructor(private readonly db: SqlDriver) {}

  async createRollout(r: RolloutRow, jobs: JobRow[]): Promise<void> {
    await this.db.tx(async (q) => {
      await q.run(
        `INSERT INTO rollouts (id, artifact_id, selector, status, status_reason, options, wave, waves, resumed_wave, targets,
           created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.artifactId,
          json(r.selector),
          r.status,
          r.statusReason,
          json(r.options),
          r.wave,
          r.waves,
          r.resumedWave,
          r.targets,
          r.createdBy,
          r.createdAt,
          r.updatedAt,
        ],
      );
      for (const j of jobs) {
        await q.run(
          `INSERT INTO jobs (job_id, rollout_id, store_id, device_id, artifact_id, wave, outcome, state, reason, offered_at,
             updated_at, received, serving_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [j.jobId, j.rolloutId, j.storeId, j.deviceId, j.artifactId, j.wave, j.outcome, j.state, j.reason, j.offeredAt, j.updatedAt, j.received, j.servingVersion],
        );
      }
    });
  }

  async getRollout(id: string): Promise<RolloutRow | undefined> {
    const r = await this.db.all('SELECT * FROM rollouts WHERE id = ?', [id]);
    return r.length ? toRollout(r[0]) : undefined;
  }

  async listRollouts(status?: RolloutStatus[]): Promise<RolloutRow[]> {
    const rows =
      status === undefined
        ? await this.db.all('SELECT * FROM rollouts ORDER BY created_at DESC')
        : await this.db.all(`SELECT * FROM rollouts WHERE status IN (${inList(status)}) ORDER BY created_at`, status);
    return rows.map(toRollout);
  }

  /**
   * Patches a rollout; with `expect`, only while its status and wave are still those (another
   * instance may have moved it on). Resolves whether the row changed.
   */
  async updateRollout(
    id: string,
    patch: Partial<Pick<RolloutRow, 'status' | 'statusReason' | 'wave' | 'resumedWave'>>,
    now: number,
    expect?: Partial<Pick<RolloutRow, 'status' | 'wave'>>,
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = ?'];
    const vals: SqlValue[] = [now];
    if (patch.status !== undefined) {
      sets.push('status = ?');
      vals.push(patch.status);
    }
    if (patch.statusReason !== undefined) {
      sets.push('status_reason = ?');
      vals.push(patch.statusReason);
    }
    if (patch.wave !== undefined) {
      sets.push('wave = ?');
      vals.push(patch.wave);
    }
    if (patch.resumedWave !== undefined) {
      sets.push('resumed_wave = ?');
      vals.push(patch.resumedWave);
    }
    const where = ['id = ?'];
    const wvals: SqlValue[] = [id];
    if (expect?.status !== undefined) {
      where.push('status = ?');
      wvals.push(expect.status);
    }
    if (expect?.wave !== undefined) {
      where.push('wave = ?');
      wvals.push(expect.wave);
    }
    return (await this.db.run(`UPDATE rollouts SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`, [...vals, ...wvals])) > 0;
  }

  async jobs(rolloutId: string, wave?: number): Promise<JobRow[]> {
    const rows =
      wave === undefined
        ? await this.db.all('SELECT * FROM jobs WHERE rollout_id = ? ORDER BY wave, store_id, device_id', [rolloutId])
        : await this.db.all('SELECT * FROM jobs WHERE rollout_id = ? AND wave = ? ORDER BY store_id, device_id', [rolloutId, wave]);
    return rows.map(toJob);
  }

  async getJob(jobId: string): Promise<JobRow | undefined> {
    const r = await this.db.all('SELECT * FROM jobs WHERE job_id = ?', [jobId]);
    return r.length ? toJob(r[0]) : undefined;
  }

  async deviceJobs(storeId: string, deviceId: string, outcomes?: JobOutcome[]): Promise<JobRow[]> {
    const rows =
      outcomes === undefined
        ? await this.db.all('SELECT * FROM jobs WHERE store_id = ? AND device_id = ? ORDER BY updated_at', [storeId, deviceId])
        : await this.db.all(
            `SELECT * FROM jobs WHERE store_id = ? AND device_id = ? AND outcome IN (${inList(outcomes)}) ORDER BY updated_at`,
            [storeId, deviceId, ...outcomes],
          );
    return rows.map(toJob);
  }

  /**
   * Devices that must never be offered this artifact again: the protocol's one rule
   * (`blocksArtifact`: rolled back, or failed as unusable), plus the fleet's own: a device that
   * refused the offer (except "busy", another job running) is not asked again.
   */
  async blockedDevices(artifactId: string): Promise<Set<string>> {
    const rows = await this.db.all('SELECT store_id, device_id, state, reason FROM jobs WHERE artifact_id = ? AND state IS NOT NULL', [artifactId]);
    const never = (state: string, reason: string | undefined) => blocksArtifact({ state, reason }) || (state === 'rejected' && reason !== 'busy');
    return new Set(rows.filter((r) => never(String(r.state), str(r.reason) ?? undefined)).map((r) => `${r.store_id}/${r.device_id}`));
  }

  async updateJob(
    jobId: string,
    patch: Partial<Pick<JobRow, 'outcome' | 'state' | 'reason' | 'offeredAt' | 'received' | 'servingVersion'>>,
    now: number,
  ): Promise<void> {
    const sets: string[] = ['updated_at = ?'];
    const vals: SqlValue[] = [now];
    const col: Record<string, string> = {
      outcome: 'outcome',
      state: 'state',
      reason: 'reason',
      offeredAt: 'offered_at',
      received: 'received',
      servingVersion: 'serving_version',
    };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      sets.push(`${col[k]} = ?`);
      vals.push(v as SqlValue);
    }
    await this.db.run(`UPDATE jobs SET ${sets.join(', ')} WHERE job_id = ?`, [...vals, jobId]);
  }

  async outcomeCounts(rolloutId: string): Promise<Array<{ wave: number; outcome: JobOutcome; n: number }>> {
    const rows = await this.db.all('SELECT wave, outcome, COUNT(*) AS n FROM jobs WHERE rollout_id = ? GROUP BY wave, outcome', [rolloutId]);
    return rows.map((r) => ({ wave: num(r.wave), outcome: String(r.outcome) as JobOutcome, n: num(r.n) }));
  }
}

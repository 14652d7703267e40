/**
 * What the update agent keeps on disk, each file written atomically (temp + fsync + rename):
 *
 *   <stateDir>/updates/job.json                the current (or last) job and its state
 *   <stateDir>/updates/<jobId>/artifact.part    the download, written chunk by chunk
 *   <stateDir>/updates/rolled-back.json         artifact ids this device rolled back or found bad
 *   <stateDir>/updates/floors.json              per name, the highest version ever committed (anti-rollback)
 *   <stateDir>/models/current.json              the committed pointer: which model serves on boot
 *   <stateDir>/models/<name>/<artifactId>/      a staged model (a registry directory)
 *   <stateDir>/catalog/current.json             the committed catalog pointer (same format, key "catalog")
 *   <stateDir>/catalog/<artifactId>/catalog.json a staged product catalog
 *   <releases>/<artifactId>/                     a staged application release (device/release/layout.ts;
 *   <releases>/committed.json                    its committed pointer, key "app"; `current` is the boot link)
 *
 * Model artifacts and the catalog share one job at a time, one state table and one agent; only
 * where they are staged and which pointer names them differ (by artifact name: "catalog").
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import {
  compareVersions,
  UpdateOfferSchema,
  UpdateReasonSchema,
  type UpdateOffer,
  type UpdateReason,
  type UpdateStateName,
} from '../../fleet/protocol/update.ts';
import { CATALOG_NAME } from '../tryon/catalog.ts';
import { readJsonFile, writeFileAtomic } from '../core/fs-atomic.ts';
import { APP_NAME } from '../release/layout.ts';

/** A model the daemon can serve: a staged directory, or the bundled one (`dir: null`). */
export interface ServingModel {
  version: string;
  dir: string | null;
  artifactId?: string;
}

const ServingModelSchema = z.object({ version: z.string().min(1), dir: z.string().nullable(), artifactId: z.string().optional() });

export interface JobRecord {
  v: 1;
  offer: UpdateOffer;
  state: UpdateStateName | string;
  reason?: UpdateReason;
  detail?: string;
  /** Chunks on disk, in order (MQTT transfer); bytes on disk (both transfers). */
  nextChunk: number;
  received: number;
  /** The committed model when the job began: what a rollback returns to. */
  previous: ServingModel | null;
  stagedDir?: string;
  /** Boots that resumed this job in its current state (a crash-loop guard). */
  resumes: number;
  /** The state last queued for the fleet; a boot re-reports when it differs from `state`. */
  reported?: string;
  updatedAt: number;
}

const JobRecordSchema = z.object({
  v: z.literal(1),
  offer: UpdateOfferSchema,
  state: z.string(),
  /** A code this firmware does not know (written by a newer one) reads as `unknown`. */
  reason: UpdateReasonSchema.catch('unknown').optional(),
  detail: z.string().optional(),
  nextChunk: z.int().min(0),
  received: z.int().min(0),
  previous: ServingModelSchema.nullable(),
  stagedDir: z.string().optional(),
  resumes: z.int().min(0),
  reported: z.string().optional(),
  updatedAt: z.number(),
});

const PointerSchema = z.object({
  v: z.literal(1),
  models: z.record(z.string(), ServingModelSchema.extend({ previous: ServingModelSchema.nullable().optional() })),
});
export type Pointer = z.infer<typeof PointerSchema>;

export type LoadedJob = { ok: true; job: JobRecord | null } | { ok: false; error: string; jobId?: string };

const MAX_REJECTED = 200;

const FloorsSchema = z.record(z.string(), z.string());

export class UpdateStore {
  /** Read once, then kept in step with every write: an offer is checked without disk I/O. */
  #rejected: string[] | undefined;
  #floors: Record<string, string> | undefined;
  readonly stateDir: string;
  readonly updatesDir: string;
  readonly modelsDir: string;
  readonly catalogDir: string;
  /** Application releases (device/release/layout.ts); default `<stateDir>/releases`. */
  readonly releasesDir: string;

  constructor(stateDir: string, opts: { releasesDir?: string } = {}) {
    this.stateDir = stateDir;
    this.updatesDir = path.join(stateDir, 'updates');
    this.modelsDir = path.join(stateDir, 'models');
    this.catalogDir = path.join(stateDir, 'catalog');
    this.releasesDir = opts.releasesDir ?? path.join(stateDir, 'releases');
  }

  /** Where staged artifacts of `name` live: `models/<name>/`, `catalog/` for the catalog, the releases folder for the app. */
  private root(name: string): string {
    if (name === APP_NAME) return this.releasesDir;
    return name === CATALOG_NAME ? this.catalogDir : path.join(this.modelsDir, name);
  }

  /** The committed pointer that names what serves `name` on boot. */
  pointerFile(name: string): string {
    if (name === APP_NAME) return path.join(this.releasesDir, 'committed.json');
    return path.join(name === CATALOG_NAME ? this.catalogDir : this.modelsDir, 'current.json');
  }

  get jobFile(): string {
    return path.join(this.updatesDir, 'job.json');
  }

  artifactFile(jobId: string): string {
    return path.join(this.updatesDir, jobId, 'artifact.part');
  }

  stagedDir(name: string, artifactId: string): string {
    return path.join(this.root(name), artifactId);
  }

  async loadJob(): Promise<LoadedJob> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.jobFile);
    } catch (err) {
      return { ok: false, error: `job.json unreadable: ${(err as Error).message}` };
    }
    if (raw === undefined) return { ok: true, job: null };
    const parsed = JobRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const jobId = (raw as { offer?: { jobId?: unknown } })?.offer?.jobId;
      return { ok: false, error: `job.json invalid: ${parsed.error.issues[0]?.message}`, ...(typeof jobId === 'string' ? { jobId } : {}) };
    }
    return { ok: true, job: parsed.data as JobRecord };
  }

  async saveJob(job: JobRecord): Promise<void> {
    job.updatedAt = Date.now();
    await writeFileAtomic(this.jobFile, `${JSON.stringify(job, null, 1)}\n`);
  }

  async clearJobFiles(jobId: string): Promise<void> {
    await rm(path.join(this.updatesDir, jobId), { recursive: true, force: true });
  }

  async loadPointer(name = ''): Promise<Pointer> {
    try {
      const raw = await readJsonFile(this.pointerFile(name));
      if (raw === undefined) return { v: 1, models: {} };
      const parsed = PointerSchema.safeParse(raw);
      if (parsed.success) return parsed.data;
    } catch {
      // fall through: a corrupt pointer means the bundled models
    }
    return { v: 1, models: {} };
  }

  /** The model that serves `name` on boot: the committed one, or null for the bundled model. */
  async committed(name: string): Promise<(ServingModel & { previous?: ServingModel | null }) | null> {
    return (await this.loadPointer(name)).models[name] ?? null;
  }

  /** Points `name` at `model` (null = the bundled model), remembering `previous`. The commit point. */
  async setCommitted(name: string, model: ServingModel | null, previous: ServingModel | null): Promise<void> {
    const pointer = await this.loadPointer(name);
    if (model === null || model.dir === null) delete pointer.models[name];
    else pointer.models[name] = { ...model, previous };
    const file = this.pointerFile(name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, `${JSON.stringify(pointer, null, 1)}\n`);
  }

  async rejectedArtifacts(): Promise<readonly string[]> {
    if (this.#rejected) return this.#rejected;
    try {
      const raw = await readJsonFile(path.join(this.updatesDir, 'rolled-back.json'));
      this.#rejected = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      this.#rejected = [];
    }
    return this.#rejected;
  }

  async addRejectedArtifact(id: string): Promise<void> {
    const list = await this.rejectedArtifacts();
    if (list.includes(id)) return;
    const next = [...list, id].slice(-MAX_REJECTED);
    await writeFileAtomic(path.join(this.updatesDir, 'rolled-back.json'), JSON.stringify(next));
    this.#rejected = next;
  }

  private async floors(): Promise<Record<string, string>> {
    if (this.#floors) return this.#floors;
    let raw: unknown;
    try {
      raw = await readJsonFile(path.join(this.updatesDir, 'floors.json'));
    } catch {
      raw = undefined; // unreadable: the committed pointer still gives a floor (see floor())
    }
    const parsed = FloorsSchema.safeParse(raw ?? {});
    this.#floors = parsed.success ? parsed.data : {};
    return this.#floors;
  }

  /**
   * The anti-rollback floor of `name`: the highest version ever committed, or at least the
   * committed pointer's (a device updated by firmware older than the floors file); undefined when
   * only the bundled model ever served.
   */
  async floor(name: string): Promise<string | undefined> {
    const recorded = (await this.floors())[name];
    const committed = (await this.committed(name))?.version;
    if (recorded === undefined) return committed;
    return committed !== undefined && compareVersions(committed, recorded) > 0 ? committed : recorded;
  }

  /** Raises the floor of `name` to `version` (never lowers it, not even for a signed rollback). */
  async raiseFloor(name: string, version: string): Promise<void> {
    const floors = await this.floors();
    const current = floors[name];
    if (current !== undefined && compareVersions(version, current) <= 0) return;
    const next = { ...floors, [name]: version };
    await mkdir(this.updatesDir, { recursive: true });
    await writeFileAtomic(path.join(this.updatesDir, 'floors.json'), JSON.stringify(next));
    this.#floors = next;
  }

  /** Removes staged directories of `name` other than those in `keep` (files, such as a pointer, and dot-folders, such as the releases' shared dependencies, stay). */
  async pruneStaged(name: string, keep: ReadonlyArray<string | null | undefined>): Promise<void> {
    const { readdir } = await import('node:fs/promises');
    const dir = this.root(name);
    let entries: Array<{ name: string; isDirectory(): boolean }> = [];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const keepSet = new Set(keep.filter((k): k is string => typeof k === 'string').map((k) => path.resolve(k)));
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const full = path.resolve(dir, e.name);
      if (!keepSet.has(full)) await rm(full, { recursive: true, force: true });
    }
  }
}

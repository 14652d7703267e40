/**
 * The explicit context of the one update job in progress, passed to every phase (transfer,
 * verify/stage, smoke test/watch, commit/cancel, resume) instead of variables in a closure:
 * the job record, the per-job resources (chunk timer, watch timer, transfer abort), and the three
 * moves every phase makes: report a state, persist a transition, finish the job.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  blocksArtifact,
  TERMINAL_UPDATE_STATES,
  UpdateStateSchema,
  type Artifact,
  type UpdateReason,
  type UpdateState,
  type UpdateStateName,
} from '../../fleet/protocol/update.ts';
import { updateTopic, type DeviceAddress } from '../../fleet/protocol/topics.ts';
import type { Logger } from '../core/logger.ts';
import type { OutboxKind } from '../telemetry/outbox.ts';
import type { ArtifactKind } from '../../fleet/protocol/update.ts';
import type { ModelHost } from './host.ts';
import { canTransition, IllegalTransitionError, isUpdateState } from './states.ts';
import type { JobRecord, UpdateStore } from './store.ts';

/** Per artifact kind other than a model bundle, the host that serves it. */
export type DocumentHosts = Partial<Record<Exclude<ArtifactKind, 'model'>, ModelHost>>;

/** The MQTT side, provided by the telemetry agent. */
export interface UpdateTransport {
  enqueue(kind: OutboxKind, topic: string, payload: Buffer): boolean;
  publishNow(topic: string, payload: Buffer): boolean;
  readonly connected: boolean;
}

/** How a job ends without the new model: failed/rejected before the switch, rolled-back after it. */
export type Failure = { state: 'failed' | 'rejected' | 'rolled-back'; reason: UpdateReason; detail?: string };

export interface AgentDeps {
  store: UpdateStore;
  host: ModelHost;
  /**
   * The hosts of the document kinds (catalog, recommendations, colour profile: document-host.ts),
   * each updating the one name it lists; a kind without a host is `unsupported-kind`.
   */
  documents?: DocumentHosts;
  address: DeviceAddress;
  publicKeys: ReadonlyMap<string, KeyObject>;
  transport: UpdateTransport;
  logger: Logger;
}

export interface AgentTuning {
  chunkTimeoutMs: number;
  /** Consecutive unanswered requests for the same chunk before the job fails. */
  chunkRetries: number;
  /** An HTTP transfer that receives no byte for this long is aborted (`transfer-stalled`). */
  stallTimeoutMs: number;
  minFpsRatio: number;
  maxStageErrorRatio: number;
  watchTickMs: number;
  /** An application release whose fps stays under this after its switch is rolled back (app-watch.ts). */
  appMinFps: number;
  fetch: typeof fetch;
}

export class JobContext {
  job: JobRecord | null = null;
  stopped = false;
  chunkTimer: NodeJS.Timeout | undefined;
  chunkTries = 0;
  watchTimer: NodeJS.Timeout | undefined;
  transfer: AbortController | undefined;
  readonly topics: { state: string; request: string };

  constructor(
    readonly deps: AgentDeps,
    readonly tuning: AgentTuning,
    /** Runs `fn` on the agent's serial queue (never throws into the caller). */
    readonly enqueue: (what: string, fn: () => Promise<void>) => Promise<void>,
  ) {
    this.topics = { state: updateTopic(deps.address, 'state'), request: updateTopic(deps.address, 'request') };
  }

  get store(): UpdateStore {
    return this.deps.store;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** The host of an artifact (by its kind), or of a name (the document host listing it, else the model host). */
  hostFor(a: Pick<Artifact, 'kind' | 'name'> | string): ModelHost {
    const documents = this.deps.documents ?? {};
    if (typeof a === 'string') return Object.values(documents).find((h) => h.updatable.includes(a)) ?? this.deps.host;
    if (a.kind === 'model') return this.deps.host;
    const host = documents[a.kind];
    if (!host) throw new Error(`kind "${a.kind}" is not handled by this firmware`);
    return host;
  }

  /** Queues `j`'s state (or `extra.state`) for the fleet, durably through the outbox. */
  report(j: JobRecord, extra: { reason?: UpdateReason; detail?: string; state?: UpdateStateName } = {}): void {
    const state = extra.state ?? (j.state as UpdateStateName);
    const terminal = TERMINAL_UPDATE_STATES.has(state);
    const reason = extra.reason ?? (terminal ? j.reason : undefined);
    const detail = extra.detail ?? (terminal ? j.detail : undefined);
    const msg: UpdateState = {
      v: 1,
      msgId: randomUUID(),
      jobId: j.offer.jobId,
      rolloutId: j.offer.rolloutId,
      deviceId: this.deps.address.deviceId,
      artifactId: j.offer.artifact.id,
      state,
      ...(reason ? { reason } : {}),
      ...(detail ? { detail: detail.slice(0, 512) } : {}),
      ...(state === 'downloading' ? { received: j.received } : {}),
      ...this.servingVersionOf(j.offer.artifact.name),
      ts: Date.now(),
    };
    const parsed = UpdateStateSchema.safeParse(msg);
    if (!parsed.success) {
      this.logger.error({ issue: parsed.error.issues[0]?.message }, 'update: state message failed validation');
      return;
    }
    this.deps.transport.enqueue('update', this.topics.state, Buffer.from(JSON.stringify(parsed.data)));
  }

  private servingVersionOf(name: string): { servingVersion?: string } {
    try {
      return { servingVersion: this.hostFor(name).serving(name).version.slice(0, 64) };
    } catch {
      return {};
    }
  }

  /** Persists the move to `to` (by the table), then reports it and records that it was reported. */
  async transition(to: UpdateStateName, fields: Partial<JobRecord> = {}): Promise<void> {
    const j = this.job!;
    if (isUpdateState(j.state) && !canTransition(j.state, to)) throw new IllegalTransitionError(j.state, to);
    this.logger.info(
      { jobId: j.offer.jobId, artifactId: j.offer.artifact.id, from: j.state, to, ...(fields.reason ? { reason: fields.reason } : {}) },
      'update: transition',
    );
    Object.assign(j, fields, { state: to, resumes: 0 });
    await this.store.saveJob(j);
    this.report(j);
    j.reported = to;
    await this.store.saveJob(j);
  }

  /** Stops the job's timers and aborts its transfer. */
  release(): void {
    clearTimeout(this.chunkTimer);
    this.chunkTimer = undefined;
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    this.transfer?.abort();
    this.transfer = undefined;
  }

  /** Ends the job without the new model; after the switch the previous model serves again. */
  async finish(f: Failure): Promise<void> {
    const j = this.job!;
    this.release();
    const name = j.offer.artifact.name;
    if (f.state === 'rolled-back') {
      await this.hostFor(j.offer.artifact).revert(name, j.previous);
      const committed = await this.store.committed(name);
      if ((committed?.artifactId ?? null) !== (j.previous?.artifactId ?? null)) await this.store.setCommitted(name, j.previous, null);
    }
    if (blocksArtifact(f)) await this.store.addRejectedArtifact(j.offer.artifact.id);
    this.logger.warn(
      { jobId: j.offer.jobId, artifactId: j.offer.artifact.id, state: f.state, reason: f.reason, detail: f.detail },
      'update: job ended without the new model',
    );
    await this.transition(f.state, { reason: f.reason, ...(f.detail ? { detail: f.detail } : {}) });
    await this.store.clearJobFiles(j.offer.jobId);
    const host = this.hostFor(j.offer.artifact);
    // A release folder may be the code this very process runs until its restart: the next commit prunes it.
    const runsFromIt = host.bootInto !== undefined;
    if (j.stagedDir && !runsFromIt && (await this.store.committed(name))?.dir !== j.stagedDir) await rm(j.stagedDir, { recursive: true, force: true });
    // Restarted only now, with the end of the job on disk: a slow stop cannot lose it.
    await host.restart?.();
  }
}

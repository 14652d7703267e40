/**
 * The device's update agent: the driver of one job at a time through the state table (states.ts),
 * every transition persisted atomically before it is reported (durably, through the outbox) on
 * `update/state`. Each phase is its own module, given the job's explicit context (job.ts):
 *
 *   announced      offer.ts          kind, model, blocklist, pinned key and Ed25519 signature, the
 *                                    anti-rollback floor: refused as `rejected` before any download
 *   downloading    transfer-mqtt.ts  MQTT pull, one chunk in flight, resumed from the first missing
 *                  transfer-http.ts  or an HTTP(S) GET beside the queue (stall timeout, abortable)
 *   verifying      stage.ts          size, sha256, signature again;
 *   staged                           unpacked (or staged by the host) beside the serving model
 *   smoke-testing  watch.ts          the host loads it and runs the golden frames
 *   active                           swapped into the live pipeline (the previous one kept)
 *   watching                         fps and stage errors against the pre-switch baseline
 *   committed      commit.ts         the pointer names it (the commit point), the floor is raised
 *   rolled-back    job.ts finish     after the switch: the previous model serves again, the
 *                                    artifact is never taken again
 *   (boot)         boot.ts           roll back or resume by the table
 *
 * Application releases (kind "app", app-host.ts, in `documents`) switch by restarting into the new
 * release: the job goes on in the new process from `active` (app-watch.ts), and the release boot
 * hook (device/release/boot-check.ts) rolls back a release that never switched or loops.
 *
 * Models go to `host`, documents (catalog, recommendations, colour profile) to their kind's host in
 * `documents` (host.ts, document-host.ts): same states, same rules. Every step
 * runs on one serial queue that catches and logs: nothing here throws into the daemon.
 *
 * Length: createUpdateAgent (~130 lines) is the driver only: thirteen small functions (the longest 23
 * lines) sharing the serial work queue and the current job; each phase's work is in its own module.
 */
import {
  TERMINAL_UPDATE_STATES,
  UPDATE_SCHEMAS,
  type Chunk,
  type UpdateCancel,
  type UpdateOffer,
  type UpdateStateName,
} from '../../fleet/protocol/update.ts';
import { MAX_PAYLOAD_BYTES } from '../../fleet/protocol/schemas.ts';
import { resume } from './boot.ts';
import { cancel, commit } from './commit.ts';
import { JobContext, type AgentDeps, type Failure } from './job.ts';
import { judgeOffer, reportRefusal } from './offer.ts';
import { describeCounts, RateWindow } from './rate-window.ts';
import { STATE_TABLE, isUpdateState } from './states.ts';
import { receiveChunk, requestChunk, startDownload } from './transfer-mqtt.ts';
import { verifyAndStage } from './stage.ts';
import { smokeTestAndSwitch } from './watch.ts';
import { watchAfterRestart } from './app-watch.ts';

export interface UpdateAgentOptions extends AgentDeps {
  chunkTimeoutMs?: number;
  /** Consecutive unanswered requests for the same chunk before the job fails; default 5. */
  chunkRetries?: number;
  /** An HTTP transfer with no byte for this long fails as `transfer-stalled`; default 30 s. */
  stallTimeoutMs?: number;
  minFpsRatio?: number;
  maxStageErrorRatio?: number;
  /** An application release under this fps after its restart is rolled back; default 15 (half the 30 fps budget). */
  appMinFps?: number;
  /** How often the watch window samples health; default 500 ms. */
  watchTickMs?: number;
  /** For HTTP transfers; default global fetch. */
  fetch?: typeof fetch;
  /** Refusals reported (and bad messages logged) per window; the rest are summed up once. Default 10 per 10 s. */
  reportLimit?: { max: number; windowMs: number };
}

export interface UpdateStatusSummary {
  jobId: string;
  artifactId: string;
  state: string;
  reason?: string;
}

export interface UpdateAgent {
  /** Resumes a persisted job by the state table and reports what the fleet has not heard. */
  start(): Promise<void>;
  /** A message on `update/{subtopic}`. */
  handleMessage(subtopic: string, payload: Buffer): void;
  /** After every MQTT (re)connection: ask again for the chunk in flight. */
  onConnect(): void;
  /** Resolves when queued work is done (tests). */
  idle(): Promise<void>;
  status(): UpdateStatusSummary | null;
  stop(): Promise<void>;
}

export function createUpdateAgent(opts: UpdateAgentOptions): UpdateAgent {
  const { logger } = opts;
  let queue: Promise<void> = Promise.resolve();
  const ctx = new JobContext(
    opts,
    {
      chunkTimeoutMs: opts.chunkTimeoutMs ?? 15_000,
      chunkRetries: opts.chunkRetries ?? 5,
      stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
      minFpsRatio: opts.minFpsRatio ?? 0.5,
      maxStageErrorRatio: opts.maxStageErrorRatio ?? 0.2,
      watchTickMs: opts.watchTickMs ?? 500,
      appMinFps: opts.appMinFps ?? 15,
      fetch: opts.fetch ?? fetch,
    },
    enqueue,
  );
  const limit = opts.reportLimit ?? { max: 10, windowMs: 10_000 };
  let lastRefused: UpdateOffer | null = null;
  // One refusal report per window sums up the ones held back (on the last offer refused).
  const refusals = new RateWindow(limit.max, limit.windowMs, (counts, windowMs) => {
    logger.warn({ suppressed: Object.fromEntries(counts) }, 'update: more offers rejected than reported');
    if (lastRefused) {
      reportRefusal(ctx, lastRefused, { reason: counts.keys().next().value as Failure['reason'], detail: `and more offers rejected in ${windowMs / 1000} s, not reported one by one: ${describeCounts(counts)}` });
    }
  });
  const badMessages = new RateWindow(limit.max, limit.windowMs, (counts) => {
    logger.warn({ suppressed: Object.fromEntries(counts) }, 'update: more invalid messages ignored than logged');
  });

  function enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    queue = queue.then(async () => {
      if (ctx.stopped) return;
      try {
        await fn();
      } catch (err) {
        logger.error({ what, err: (err as Error).stack ?? String(err) }, 'update: step failed');
        const j = ctx.job;
        if (j && !TERMINAL_UPDATE_STATES.has(j.state as UpdateStateName)) {
          const switched = isUpdateState(j.state) && STATE_TABLE[j.state].switched;
          await ctx
            .finish({ state: switched ? 'rolled-back' : 'failed', reason: 'internal-error', detail: (err as Error).message })
            .catch((e: unknown) => logger.error({ err: String(e) }, 'update: could not record the failure'));
        }
      }
    });
    return queue;
  }

  // The pipeline after each phase, as the state table orders it.
  const onVerdict = (v: Failure | 'commit'): Promise<void> => (v === 'commit' ? commit(ctx) : ctx.finish(v));
  const afterStage = (): Promise<void> => smokeTestAndSwitch(ctx, onVerdict);
  const afterTransfer = async (): Promise<void> => {
    if (await verifyAndStage(ctx)) await afterStage();
  };
  const download = (): Promise<void> => startDownload(ctx, afterTransfer);

  async function onOffer(offer: UpdateOffer): Promise<void> {
    const outcome = await judgeOffer(ctx, offer);
    const j = ctx.job;
    if (outcome.kind === 'repeat' && j) {
      // A repeated offer (QoS 1 redelivery, or the fleet nudging a stuck device): carry on.
      if (j.state === 'downloading') requestChunk(ctx, true);
      else ctx.report(j);
    } else if (outcome.kind === 'ended' && j) {
      ctx.report(j); // already finished: say how it ended
    } else if (outcome.kind === 'refuse') {
      lastRefused = offer;
      if (!refusals.take(outcome.refusal.reason)) return;
      logger.warn({ jobId: offer.jobId, artifactId: offer.artifact.id, ...outcome.refusal }, 'update: offer rejected');
      reportRefusal(ctx, offer, outcome.refusal);
    } else if (outcome.kind === 'start') {
      ctx.job = outcome.job;
      await ctx.store.clearJobFiles(offer.jobId);
      await ctx.store.saveJob(outcome.job);
      ctx.report(outcome.job);
      outcome.job.reported = 'announced';
      await download();
    }
  }

  function handleMessage(subtopic: string, payload: Buffer): void {
    if (subtopic !== 'offer' && subtopic !== 'chunk' && subtopic !== 'cancel') return;
    if (payload.byteLength > MAX_PAYLOAD_BYTES) {
      if (badMessages.take('too-large')) logger.warn({ subtopic, bytes: payload.byteLength }, 'update: message too large; ignored');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      if (badMessages.take('not-json')) logger.warn({ subtopic }, 'update: message is not JSON; ignored');
      return;
    }
    const parsed = UPDATE_SCHEMAS[subtopic].safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (badMessages.take('invalid')) logger.warn({ subtopic, field: issue?.path.join('.'), error: issue?.message }, 'update: invalid message; ignored');
      return;
    }
    if (subtopic === 'offer') void enqueue('offer', () => onOffer(parsed.data as UpdateOffer));
    else if (subtopic === 'chunk') void enqueue('chunk', () => receiveChunk(ctx, parsed.data as Chunk, afterTransfer));
    else void enqueue('cancel', () => cancel(ctx, parsed.data as UpdateCancel));
  }

  return {
    start: () => enqueue('resume', () => resume(ctx, { download, afterTransfer, afterStage, watchRelease: () => watchAfterRestart(ctx, onVerdict) })),
    handleMessage,
    onConnect() {
      if (ctx.job?.state === 'downloading' && ctx.job.offer.transfer.type === 'mqtt') requestChunk(ctx, false);
    },
    idle: async () => {
      let q: Promise<void>;
      do {
        q = queue;
        await q;
      } while (q !== queue);
    },
    status: () => {
      const j = ctx.job;
      return j && { jobId: j.offer.jobId, artifactId: j.offer.artifact.id, state: j.state, ...(j.reason ? { reason: j.reason } : {}) };
    },
    async stop() {
      ctx.stopped = true;
      ctx.release();
      refusals.flush(); // the fleet hears what was held back, even when the daemon stops first
      badMessages.flush();
      await queue;
    },
  };
}

/**
 * An offer, checked before a byte is downloaded: kind, model, blocklist, already serving, pinned
 * key and Ed25519 signature, the anti-rollback floor, and the transfer's shape. Cheapest first and
 * all in memory except the floor (read only for an offer whose signature verified), so a flood of
 * bad offers costs no disk I/O. Refusals are reported as `rejected`, at a bounded rate.
 */
import { isDowngrade, TERMINAL_UPDATE_STATES, type UpdateOffer, type UpdateReason, type UpdateStateName } from '../../fleet/protocol/update.ts';
import { checkSignature } from '../../fleet/protocol/signing.ts';
import type { JobContext } from './job.ts';
import type { JobRecord } from './store.ts';

export type Refusal = { reason: UpdateReason; detail: string };

/** Why `offer` is refused on this device now, or null when it may start. */
export async function refusalOf(ctx: JobContext, offer: UpdateOffer): Promise<Refusal | null> {
  const a = offer.artifact;
  if (a.kind !== 'model') {
    const doc = ctx.deps.documents?.[a.kind];
    if (!doc) return { reason: 'unsupported-kind', detail: `kind "${a.kind}" is not handled by this firmware` };
    if (!doc.updatable.includes(a.name)) return { reason: 'bad-offer', detail: `a ${a.kind} artifact is named "${doc.updatable.join('", "')}", not "${a.name}"` };
  }
  const host = ctx.hostFor(a);
  if (!host.updatable.includes(a.name)) return { reason: 'unsupported-model', detail: `model "${a.name}" cannot be updated here` };
  if ((await ctx.store.rejectedArtifacts()).includes(a.id)) {
    return { reason: 'previously-rolled-back', detail: `artifact ${a.id} was rolled back or failed on this device` };
  }
  if (host.serving(a.name).artifactId === a.id) return { reason: 'already-serving', detail: `artifact ${a.id} is serving` };
  if (offer.transfer.type === 'mqtt' && offer.transfer.chunks !== Math.ceil(a.size / offer.transfer.chunkSize)) {
    return { reason: 'bad-offer', detail: `${offer.transfer.chunks} chunks of ${offer.transfer.chunkSize} bytes cannot hold ${a.size} bytes` };
  }
  const sig = checkSignature(a, ctx.deps.publicKeys);
  if (!sig.ok) return { reason: sig.reason, detail: sig.detail };
  // After the signature: version and rollbackFrom are only trusted once it verified.
  const floor = await ctx.store.floor(a.name);
  if (isDowngrade(a, floor)) {
    const why = a.rollbackFrom === undefined ? 'no signed rollback' : `the signed rollback is from ${a.rollbackFrom} or below`;
    return { reason: 'downgrade', detail: `version ${a.version} is below ${floor}, the highest committed here (${why})` };
  }
  return null;
}

export type OfferOutcome = { kind: 'start'; job: JobRecord } | { kind: 'refuse'; refusal: Refusal } | { kind: 'repeat' } | { kind: 'ended' };

/**
 * What an offer means given the job in hand: the same job again (carry on, or say how it ended),
 * a second job while one runs (`busy`), a refusal, or a new job.
 */
export async function judgeOffer(ctx: JobContext, offer: UpdateOffer): Promise<OfferOutcome> {
  const current = ctx.job;
  if (current?.offer.jobId === offer.jobId) return TERMINAL_UPDATE_STATES.has(current.state as UpdateStateName) ? { kind: 'ended' } : { kind: 'repeat' };
  if (current && !TERMINAL_UPDATE_STATES.has(current.state as UpdateStateName)) {
    return { kind: 'refuse', refusal: { reason: 'busy', detail: `job ${current.offer.jobId} is ${current.state}` } };
  }
  const refusal = await refusalOf(ctx, offer);
  if (refusal) return { kind: 'refuse', refusal };
  const previous = ctx.hostFor(offer.artifact).serving(offer.artifact.name);
  return { kind: 'start', job: { v: 1, offer, state: 'announced', nextChunk: 0, received: 0, previous, resumes: 0, updatedAt: Date.now() } };
}

/** Reports `offer` as rejected without touching the job in hand (a refusal is not a job). */
export function reportRefusal(ctx: JobContext, offer: UpdateOffer, r: Refusal): void {
  const record: JobRecord = { v: 1, offer, state: 'rejected', reason: r.reason, detail: r.detail, nextChunk: 0, received: 0, previous: null, resumes: 0, updatedAt: Date.now() };
  ctx.report(record);
}

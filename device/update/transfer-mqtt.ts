/**
 * Entering `downloading`, and the MQTT pull transfer: request chunk i, receive it, fsync, persist
 * nextChunk, request i+1. One chunk in flight; a restart resumes from the first chunk not on disk.
 */
import { mkdir, open, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { ChunkRequestSchema, type Chunk } from '../../fleet/protocol/update.ts';
import { writeFileDurable } from '../core/fs-atomic.ts';
import type { JobContext } from './job.ts';
import { startHttpTransfer } from './transfer-http.ts';

/** Enters (or re-enters, on boot) `downloading` and starts the offer's transfer. */
export async function startDownload(ctx: JobContext, onComplete: () => Promise<void>): Promise<void> {
  const j = ctx.job!;
  const file = ctx.store.artifactFile(j.offer.jobId);
  await mkdir(path.dirname(file), { recursive: true });
  // Everything past what the record says is on disk (a chunk torn by a power cut) goes.
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size < 0) await writeFileDurable(file, Buffer.alloc(0));
  else if (size !== j.received) await truncate(file, j.received);
  if (j.state !== 'downloading') await ctx.transition('downloading');
  else ctx.report(j);
  if (j.offer.transfer.type === 'http') return startHttpTransfer(ctx, j.offer.transfer.url, onComplete);
  ctx.chunkTries = 0;
  if (j.nextChunk >= j.offer.transfer.chunks) await onComplete();
  else requestChunk(ctx, false);
}

/** Asks for the next chunk and arms the timer that asks again (or fails the job after the retries). */
export function requestChunk(ctx: JobContext, again: boolean): void {
  const j = ctx.job;
  if (!j || j.state !== 'downloading' || j.offer.transfer.type !== 'mqtt' || ctx.stopped) return;
  clearTimeout(ctx.chunkTimer);
  const req = ChunkRequestSchema.parse({ v: 1, jobId: j.offer.jobId, deviceId: ctx.deps.address.deviceId, index: j.nextChunk, ts: Date.now() });
  const sent = ctx.deps.transport.publishNow(ctx.topics.request, Buffer.from(JSON.stringify(req)));
  if (sent && again) ctx.chunkTries += 1;
  ctx.chunkTimer = setTimeout(() => {
    if (!ctx.deps.transport.connected) return requestChunk(ctx, false); // an outage is not the fleet's silence
    if (ctx.chunkTries >= ctx.tuning.chunkRetries) {
      void ctx.enqueue('chunk timeout', async () => {
        if (ctx.job !== j || j.state !== 'downloading') return;
        await ctx.finish({ state: 'failed', reason: 'transfer-timeout', detail: `chunk ${j.nextChunk} not received after ${ctx.chunkTries + 1} requests` });
      });
      return;
    }
    requestChunk(ctx, true);
  }, ctx.tuning.chunkTimeoutMs);
  ctx.chunkTimer.unref();
}

/** Writes the chunk the job waits for; calls `onComplete` after the last one. */
export async function receiveChunk(ctx: JobContext, chunk: Chunk, onComplete: () => Promise<void>): Promise<void> {
  const j = ctx.job;
  if (!j || j.offer.jobId !== chunk.jobId || j.state !== 'downloading' || j.offer.transfer.type !== 'mqtt') return;
  if (chunk.index !== j.nextChunk) return; // a duplicate or a stale answer: ignore
  const { chunkSize, chunks } = j.offer.transfer;
  const data = Buffer.from(chunk.data, 'base64');
  const expected = Math.min(chunkSize, j.offer.artifact.size - chunk.index * chunkSize);
  if (data.byteLength !== expected) {
    await ctx.finish({ state: 'failed', reason: 'truncated-transfer', detail: `chunk ${chunk.index} has ${data.byteLength} bytes, expected ${expected}` });
    return;
  }
  clearTimeout(ctx.chunkTimer);
  const fh = await open(ctx.store.artifactFile(j.offer.jobId), 'r+');
  try {
    await fh.write(data, 0, data.byteLength, chunk.index * chunkSize);
    await fh.sync();
  } finally {
    await fh.close();
  }
  j.nextChunk = chunk.index + 1;
  j.received = Math.min(j.offer.artifact.size, j.nextChunk * chunkSize);
  await ctx.store.saveJob(j);
  ctx.chunkTries = 0;
  if (j.nextChunk >= chunks) await onComplete();
  else requestChunk(ctx, false);
}

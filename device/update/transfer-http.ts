/**
 * The HTTP(S) transfer (resumed with Range). It runs beside the agent's serial queue, never on it:
 * a cancel or a newer offer is answered while bytes trickle in. It can be aborted (cancel, stop,
 * a job that ended) and aborts itself when no byte arrives for `stallTimeoutMs`; its outcome is
 * handed back to the queue, where it counts only if the job is still the one downloading.
 */
import { open, truncate } from 'node:fs/promises';
import type { JobContext, Failure } from './job.ts';
import type { JobRecord } from './store.ts';

type Outcome = { ok: true } | (Failure & { ok: false });

const fail = (reason: Failure['reason'], detail: string): Outcome => ({ ok: false, state: 'failed', reason, detail });

export function startHttpTransfer(ctx: JobContext, url: string, onComplete: () => Promise<void>): void {
  const j = ctx.job!;
  const abort = new AbortController();
  ctx.transfer = abort;
  void download(ctx, j, url, abort).then((outcome) =>
    ctx.enqueue('http download done', async () => {
      if (ctx.job !== j || j.state !== 'downloading') return; // cancelled or superseded meanwhile
      if (ctx.transfer === abort) ctx.transfer = undefined;
      if (!outcome.ok) return ctx.finish(outcome);
      await ctx.store.saveJob(j);
      await onComplete();
    }),
  );
}

/** Streams the body into the job's file; never throws. */
async function download(ctx: JobContext, j: JobRecord, url: string, abort: AbortController): Promise<Outcome> {
  const stallMs = ctx.tuning.stallTimeoutMs;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, stallMs);
    timer.unref();
  };
  const size = j.offer.artifact.size;
  arm();
  try {
    const res = await ctx.tuning.fetch(url, { headers: j.received > 0 ? { range: `bytes=${j.received}-` } : {}, signal: abort.signal });
    const file = ctx.store.artifactFile(j.offer.jobId);
    if (res.status === 200 && j.received > 0) {
      await truncate(file, 0);
      j.received = 0;
    } else if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel().catch(() => {});
      return fail('transfer-failed', `GET answered HTTP ${res.status}`);
    }
    const fh = await open(file, 'r+');
    try {
      for await (const part of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
        arm();
        if (j.received + part.byteLength > size) return fail('size-mismatch', `more than the declared ${size} bytes`);
        await fh.write(part, 0, part.byteLength, j.received);
        j.received += part.byteLength;
      }
      await fh.sync();
    } finally {
      await fh.close().catch(() => {});
    }
  } catch (err) {
    if (stalled) return fail('transfer-stalled', `no byte received for ${stallMs} ms (${j.received} of ${size} bytes)`);
    return fail('transfer-failed', `GET failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    if (!abort.signal.aborted && j.received < size) abort.abort(); // release the connection
  }
  if (j.received < size) return fail('truncated-transfer', `got ${j.received} of ${size} bytes`);
  return { ok: true };
}

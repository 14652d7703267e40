/**
 * `verifying` → `staged`: size, sha256 and the signature again, then the artifact is written beside
 * the serving model, whole or not at all (a `.staging` directory, fsynced, renamed into place):
 * a model bundle is unpacked as a registry directory, anything else goes through its host's stage.
 */
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../../fleet/protocol/update.ts';
import { checkSignature } from '../../fleet/protocol/signing.ts';
import { BundleError, parseBundle, writeBundleFiles } from '../../models/bundle.ts';
import { fsyncDir, writeFileDurable } from '../core/fs-atomic.ts';
import { UpdateStageError, type ModelHost } from './host.ts';
import type { Failure, JobContext } from './job.ts';
import { checkContent } from './verify.ts';

/** Verifies and stages the downloaded artifact; false when the job ended (failed or rejected). */
export async function verifyAndStage(ctx: JobContext): Promise<boolean> {
  const j = ctx.job!;
  clearTimeout(ctx.chunkTimer);
  await ctx.transition('verifying');
  const a = j.offer.artifact;
  const sig = checkSignature(a, ctx.deps.publicKeys);
  if (!sig.ok) return ended(ctx, { state: 'rejected', reason: sig.reason, detail: sig.detail });
  const file = ctx.store.artifactFile(j.offer.jobId);
  const content = await checkContent(file, a);
  if (!content.ok) return ended(ctx, { state: 'failed', reason: content.reason, detail: content.detail });
  const dir = ctx.store.stagedDir(a.name, a.id);
  const tmp = `${dir}.staging`;
  await rm(tmp, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  const host = ctx.hostFor(a);
  const failure = host.stage ? await stageByHost(host, a, file, tmp) : await unpackBundle(a, file, tmp);
  if (failure) {
    await rm(tmp, { recursive: true, force: true });
    return ended(ctx, failure);
  }
  await rename(tmp, dir);
  await fsyncDir(path.dirname(dir));
  await ctx.transition('staged', { stagedDir: dir });
  await rm(file, { force: true });
  return true;
}

async function ended(ctx: JobContext, f: Failure): Promise<false> {
  await ctx.finish(f);
  return false;
}

async function stageByHost(host: ModelHost, a: Artifact, file: string, tmp: string): Promise<Failure | null> {
  await mkdir(tmp, { recursive: true });
  try {
    await host.stage!(a, file, tmp);
  } catch (err) {
    const reason = err instanceof UpdateStageError ? err.reason : 'bad-bundle';
    return { state: 'failed', reason, detail: (err as Error).message };
  }
  await fsyncDir(tmp);
  return null;
}

async function unpackBundle(a: Artifact, file: string, tmp: string): Promise<Failure | null> {
  let bundle;
  try {
    bundle = parseBundle(await readFile(file));
    if (bundle.manifest.name !== a.name) throw new BundleError(`bundle holds model "${bundle.manifest.name}", artifact names "${a.name}"`);
    if (bundle.manifest.version !== a.version) throw new BundleError(`bundle version "${bundle.manifest.version}", artifact says "${a.version}"`);
  } catch (err) {
    // Signed and intact, yet unusable: the artifact itself is bad, never try it again.
    return { state: 'failed', reason: 'bad-bundle', detail: (err as Error).message };
  }
  await writeBundleFiles(bundle, tmp, writeFileDurable);
  await fsyncDir(path.join(tmp, 'files'));
  await fsyncDir(path.join(tmp, 'manifests'));
  return null;
}

/**
 * The auto mesh choice's timings, kept per device in the state dir (like the backend choice in
 * runtime/select.ts), so a restart serves the same mesh without re-timing: two close timings
 * re-measured at every start could flip the choice from one start to the next.
 *
 * Keyed by what the timings depend on: each mesh's name, version, file hashes and backend (a model
 * update, a compressed variant or another backend re-times), and the host's CPU and GPU. The cost
 * ratio limit is not in the key: the cached costs are compared against the configured limit at
 * every start. A missing, unreadable or malformed file is re-timed.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import type { Logger } from '../core/logger.ts';
import type { HostInfo } from './runtime/host.ts';
import type { LoadedModel } from './runtime/runtime.ts';

export const MESH_COST_FILE = 'vision-mesh.json';

const MeshCostSchema = z.object({ wallMs: z.number().positive(), cpuMs: z.number().nonnegative() });
const CachedCostsSchema = z.object({
  v: z.literal(1),
  key: z.string(),
  cost: z.record(z.string(), MeshCostSchema),
  measure: z.enum(['cpu', 'wall']),
  decidedAt: z.string(),
});
export type CachedCosts = z.infer<typeof CachedCostsSchema>;

/** One model's identity for the key: the bytes it runs (file hashes) and where it runs. */
function modelKey(model: LoadedModel): string {
  const files = createHash('sha256')
    .update(model.manifest.files.map((f) => `${f.path}:${f.sha256}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  return `${model.name}@${model.version}#${files}@${model.backend}`;
}

export function meshCostKey(models: LoadedModel[], host: Pick<HostInfo, 'cpuModel' | 'cores' | 'gpu'>): string {
  return [...models.map(modelKey), `cpu=${host.cpuModel}x${host.cores}`, `gpu=${host.gpu ?? 'none'}`].join('|');
}

/** The cached costs when they were measured for `key`; null otherwise (and why, logged). */
export async function readMeshCosts(stateDir: string, key: string, logger: Logger): Promise<CachedCosts | null> {
  const file = path.join(stateDir, MESH_COST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null; // first start on this device
  }
  let parsed: ReturnType<typeof CachedCostsSchema.safeParse>;
  try {
    parsed = CachedCostsSchema.safeParse(JSON.parse(text));
  } catch (err) {
    logger.warn({ file, reason: (err as Error).message }, 'mesh cost cache unreadable; re-timing');
    return null;
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    logger.warn({ file, field: issue.path.join('.'), reason: issue.message }, 'mesh cost cache malformed; re-timing');
    return null;
  }
  if (parsed.data.key !== key) {
    logger.info({ was: parsed.data.key, now: key }, 'mesh models, backends or host changed since the cached timing; re-timing');
    return null;
  }
  return parsed.data;
}

export async function writeMeshCosts(stateDir: string, costs: CachedCosts, logger: Logger): Promise<void> {
  try {
    await writeFileAtomic(path.join(stateDir, MESH_COST_FILE), `${JSON.stringify(costs, null, 2)}\n`);
  } catch (err) {
    logger.warn({ reason: (err as Error).message }, 'could not persist the mesh timings; they will be re-timed at next start');
  }
}

/** Rollouts (push, show, pause, resume, abort, rollback) and the signed HTTP artifact download. */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { RolloutError } from '../rollouts/engine.ts';
import { SelectorSchema } from '../rollouts/selector.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, need, parse } from './errors.ts';

const Id = z.string().regex(ID_PATTERN);

const NewRollout = z.object({
  artifactId: Id,
  selector: SelectorSchema.default({}),
  options: z
    .object({
      canaryPercent: z.number().gt(0).max(100),
      waveGrowth: z.number().min(1).max(10),
      failureThreshold: z.number().min(0).max(1),
      minDevicesDone: z.int().min(1),
      stuckTimeoutS: z.number().positive(),
      watchSeconds: z.int().min(1).max(86_400),
      transfer: z.enum(['mqtt', 'http']),
    })
    .partial()
    .strict()
    .default({}),
});

const rolloutError = (err: unknown): never => {
  if (err instanceof RolloutError) {
    const code = err.code === 'not-found' ? 'FLEET_ERR_NOT_FOUND' : err.code === 'conflict' ? 'FLEET_ERR_CONFLICT' : 'FLEET_ERR_BAD_REQUEST';
    throw new ApiError(code, err.message);
  }
  throw err;
};

export const rolloutRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, engine }) => {
  app.get('/api/rollouts', async (req) => {
    need(req, 'admin', 'operator');
    return { rollouts: await store.rollouts.listRollouts() };
  });

  app.post('/api/rollouts', async (req, reply) => {
    const p = need(req, 'admin', 'operator');
    const body = parse(NewRollout, req.body, 'body');
    const r = await engine.create(body, p.username).catch(rolloutError);
    return reply.code(201).send({ rollout: r });
  });

  app.get('/api/rollouts/:id', async (req) => {
    need(req, 'admin', 'operator');
    const { id } = parse(z.object({ id: Id }), req.params, 'params');
    const q = parse(z.object({ jobs: z.enum(['0', '1']).default('0') }), req.query, 'query');
    const s = await engine.summary(id).catch(rolloutError);
    return { ...s, jobs: q.jobs === '1' ? await store.rollouts.jobs(id) : undefined };
  });

  for (const action of ['pause', 'resume', 'abort', 'rollback'] as const) {
    app.post(`/api/rollouts/:id/${action}`, async (req) => {
      const p = need(req, 'admin', 'operator');
      const { id } = parse(z.object({ id: Id }), req.params, 'params');
      return { rollout: await engine[action](id, p.username).catch(rolloutError) };
    });
  }

  /** `GET /dl/{jobId}/{hmac}`: no bearer token (a device has none); the URL is the capability. */
  app.get('/dl/:jobId/:sig', async (req, reply) => {
    const { jobId, sig } = parse(z.object({ jobId: Id, sig: z.string().max(64) }), req.params, 'params');
    const want = Buffer.from(engine.downloadSignature(jobId));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new ApiError('FLEET_ERR_FORBIDDEN', 'bad download signature');
    const j = await store.rollouts.getJob(jobId);
    if (!j || !(j.outcome === 'offered' || j.outcome === 'in-progress')) throw new ApiError('FLEET_ERR_NOT_FOUND', 'no open job');
    const a = await store.artifacts.getArtifact(j.artifactId);
    if (!a) throw new ApiError('FLEET_ERR_NOT_FOUND', 'artifact gone');
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (m) {
      start = Number(m[1]);
      if (start >= a.size) return reply.code(416).header('content-range', `bytes */${a.size}`).send();
      reply.code(206).header('content-range', `bytes ${start}-${a.size - 1}/${a.size}`);
    }
    reply.header('accept-ranges', 'bytes').header('content-length', String(a.size - start)).type('application/octet-stream');
    return reply.send(createReadStream(a.file, { start }));
  });
};

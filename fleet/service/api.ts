/**
 * The JSON API for the dashboard and the operator CLI. Every `/api/*` route except `/api/login`
 * needs `Authorization: Bearer <token>`; a manager sees only their own store; operators and admins
 * see every store and run rollouts; only admins manage users. Errors are `{ error: { code, message } }`
 * with stable codes. No route serves or accepts an image: telemetry is counts, timings and ids.
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../protocol/topics.ts';
import { MAX_ARTIFACT_BYTES } from '../protocol/update.ts';
import { Auth, canSeeStore, hashPassword, scopeOf, type Principal } from './auth.ts';
import { deviceHealth, serviceHealth } from './health.ts';
import type { Ingest } from './ingest.ts';
import { ArtifactError, type ArtifactStore } from './rollouts/artifacts.ts';
import { RolloutError, type RolloutEngine } from './rollouts/engine.ts';
import { SelectorSchema } from './rollouts/selector.ts';
import { ROLES, type DeviceRow, type FleetStore, type Role } from './store/fleet-store.ts';

export const API_ERRORS = {
  FLEET_ERR_AUTH: 401,
  FLEET_ERR_FORBIDDEN: 403,
  FLEET_ERR_NOT_FOUND: 404,
  FLEET_ERR_BAD_REQUEST: 400,
  FLEET_ERR_CONFLICT: 409,
  FLEET_ERR_ARTIFACT_REJECTED: 422,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface ApiDeps {
  store: FleetStore;
  auth: Auth;
  ingest: Ingest;
  engine: RolloutEngine;
  artifacts: ArtifactStore;
  now: () => number;
  /** When the ingest counts as stuck (see serviceHealth). */
  stuckAfterMs: number;
  /** Whether the service runs its MQTT ingest (false in API-only tests). */
  mqtt: boolean;
}

const Id = z.string().regex(ID_PATTERN);

function parse<T extends z.ZodType>(schema: T, v: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0];
    const field = i.path.length ? i.path.map(String).join('.') : where;
    throw new ApiError('FLEET_ERR_BAD_REQUEST', `${field}: ${i.message}`, { field });
  }
  return r.data;
}

function need(req: FastifyRequest, ...roles: Role[]): Principal {
  const p = req.principal;
  if (!p) throw new ApiError('FLEET_ERR_AUTH', 'a bearer token is required');
  if (!roles.includes(p.role)) throw new ApiError('FLEET_ERR_FORBIDDEN', `needs role ${roles.join(' or ')}`);
  return p;
}

function deviceView(d: DeviceRow, now: number) {
  return { ...d, ...deviceHealth(d, now) };
}

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const { store, auth, engine, artifacts, now } = deps;

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(API_ERRORS[err.code]).send({ error: { code: err.code, message: err.message, ...err.detail } });
    }
    const e = err as { statusCode?: number; message?: string; validation?: unknown };
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ error: { code: 'FLEET_ERR_BAD_REQUEST', message: e.message ?? 'bad request' } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: { code: 'FLEET_ERR_INTERNAL', message: 'internal error' } });
  });

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_ARTIFACT_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.addHook('onRequest', async (req) => {
    const url = req.url.split('?')[0];
    if (!url.startsWith('/api/') || url === '/api/login') return;
    const p = await auth.authenticate(req.headers.authorization, now());
    if (!p) throw new ApiError('FLEET_ERR_AUTH', 'a valid bearer token is required');
    req.principal = p;
  });

  /** 503 when degraded, so a load balancer or systemd watchdog sees it without parsing. */
  app.get('/healthz', async (_req, reply) => {
    const s = deps.ingest.stats();
    const h = serviceHealth(s, { now: now(), stuckAfterMs: deps.stuckAfterMs, mqtt: deps.mqtt });
    return reply.code(h.status === 'ok' ? 200 : 503).send({
      ...h,
      store: store.db.dialect,
      mqtt: s.connected,
      ingest: { received: s.received, deadLettered: s.deadLettered, retried: s.retried, redelivered: s.redelivered, storeErrors: s.storeErrors },
    });
  });

  // ---- session -----------------------------------------------------------------------------

  app.post('/api/login', async (req, reply) => {
    const body = parse(z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }), req.body, 'body');
    const r = await auth.login(body.username, body.password, now());
    if (!r) {
      await store.audit(body.username, 'login.failed', null, { ip: req.ip }, now());
      throw new ApiError('FLEET_ERR_AUTH', 'wrong username or password');
    }
    await store.audit(body.username, 'login', null, { ip: req.ip }, now());
    return reply.send({ token: r.token, expiresAt: r.expiresAt, user: r.user });
  });

  app.post('/api/logout', async (req) => {
    const p = need(req, ...ROLES);
    await auth.logout(req.headers.authorization);
    await store.audit(p.username, 'logout', null, null, now());
    return { ok: true };
  });

  app.get('/api/me', async (req) => need(req, ...ROLES));

  // ---- users -------------------------------------------------------------------------------

  app.get('/api/users', async (req) => {
    need(req, 'admin');
    return { users: await store.listUsers() };
  });

  app.post('/api/users', async (req, reply) => {
    const p = need(req, 'admin');
    const body = parse(
      z
        .object({
          username: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
          password: z.string().min(8).max(1024),
          role: z.enum(ROLES as [Role, ...Role[]]),
          storeId: Id.optional(),
        })
        .refine((u) => u.role !== 'manager' || u.storeId !== undefined, { error: 'a manager needs a storeId', path: ['storeId'] }),
      req.body,
      'body',
    );
    const ok = await store.createUser(
      { username: body.username, role: body.role, storeId: body.storeId ?? null, passwordHash: await hashPassword(body.password), createdBy: p.username },
      now(),
    );
    if (!ok) throw new ApiError('FLEET_ERR_CONFLICT', `user "${body.username}" exists`);
    await store.audit(p.username, 'user.add', body.username, { role: body.role, storeId: body.storeId ?? null }, now());
    return reply.code(201).send({ username: body.username, role: body.role, storeId: body.storeId ?? null });
  });

  // ---- devices and stores ------------------------------------------------------------------

  app.get('/api/devices', async (req) => {
    const p = need(req, ...ROLES);
    const q = parse(z.object({ store: Id.optional() }), req.query, 'query');
    if (q.store !== undefined && !canSeeStore(p, q.store)) throw new ApiError('FLEET_ERR_FORBIDDEN', `store "${q.store}" is not yours`);
    const scope = q.store !== undefined ? { storeId: q.store } : scopeOf(p);
    const t = now();
    return { devices: (await store.listDevices(scope)).map((d) => deviceView(d, t)) };
  });

  const deviceParams = z.object({ storeId: Id, deviceId: Id });

  app.get('/api/devices/:storeId/:deviceId', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId, deviceId } = parse(deviceParams, req.params, 'params');
    if (!canSeeStore(p, storeId)) throw new ApiError('FLEET_ERR_FORBIDDEN', `store "${storeId}" is not yours`);
    const d = await store.getDevice(storeId, deviceId);
    if (!d) throw new ApiError('FLEET_ERR_NOT_FOUND', `no device ${storeId}/${deviceId}`);
    return { device: deviceView(d, now()), jobs: p.role === 'manager' ? undefined : await store.deviceJobs(storeId, deviceId) };
  });

  app.get('/api/devices/:storeId/:deviceId/telemetry', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId, deviceId } = parse(deviceParams, req.params, 'params');
    if (!canSeeStore(p, storeId)) throw new ApiError('FLEET_ERR_FORBIDDEN', `store "${storeId}" is not yours`);
    const q = parse(z.object({ since: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(5000).default(500) }), req.query, 'query');
    return { telemetry: await store.telemetry(storeId, deviceId, q.since, q.limit) };
  });

  app.put('/api/devices/:storeId/:deviceId/tags', async (req) => {
    const p = need(req, 'admin', 'operator');
    const { storeId, deviceId } = parse(deviceParams, req.params, 'params');
    const body = parse(z.object({ tags: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/)).max(32) }), req.body, 'body');
    if (!(await store.setTags(storeId, deviceId, body.tags))) throw new ApiError('FLEET_ERR_NOT_FOUND', `no device ${storeId}/${deviceId}`);
    await store.audit(p.username, 'device.tags', `${storeId}/${deviceId}`, { tags: body.tags }, now());
    return { ok: true, tags: body.tags };
  });

  app.get('/api/stores', async (req) => {
    const p = need(req, ...ROLES);
    return { stores: await store.storeIds(scopeOf(p)) };
  });

  const range = z.object({
    from: z.coerce.number().int().min(0).optional(),
    to: z.coerce.number().int().min(0).optional(),
  });

  /** Sessions, dwell time, products tried and saved, and device health for one store. */
  app.get('/api/stores/:storeId/stats', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId } = parse(z.object({ storeId: Id }), req.params, 'params');
    if (!canSeeStore(p, storeId)) throw new ApiError('FLEET_ERR_FORBIDDEN', `store "${storeId}" is not yours`);
    const q = parse(range, req.query, 'query');
    const t = now();
    const to = q.to ?? t + 1;
    const from = q.from ?? to - 24 * 3600_000;
    const devices = await store.listDevices({ storeId });
    const health: Record<string, number> = {};
    for (const d of devices) {
      const h = deviceHealth(d, t).health;
      health[h] = (health[h] ?? 0) + 1;
    }
    return { ...(await store.storeStats(storeId, from, to)), devices: devices.length, health };
  });

  /** Fleet-wide health: per store, devices by health word. */
  app.get('/api/health', async (req) => {
    const p = need(req, ...ROLES);
    const t = now();
    const byStore = new Map<string, Record<string, number>>();
    for (const d of await store.listDevices(scopeOf(p))) {
      const h = deviceHealth(d, t).health;
      const m = byStore.get(d.storeId) ?? {};
      m[h] = (m[h] ?? 0) + 1;
      byStore.set(d.storeId, m);
    }
    return { stores: [...byStore].map(([storeId, health]) => ({ storeId, health })) };
  });

  app.get('/api/ingest', async (req) => {
    need(req, 'admin', 'operator');
    return { ingest: deps.ingest.stats(), counts: await store.counts() };
  });

  app.get('/api/audit', async (req) => {
    need(req, 'admin', 'operator');
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), action: z.string().max(64).optional() }), req.query, 'query');
    return { audit: await store.listAudit(q.limit, q.action) };
  });

  // ---- artifacts ---------------------------------------------------------------------------

  app.get('/api/artifacts', async (req) => {
    need(req, 'admin', 'operator');
    return { artifacts: (await store.listArtifacts()).map(({ file: _f, ...a }) => a) };
  });

  app.get('/api/artifacts/:id', async (req) => {
    need(req, 'admin', 'operator');
    const { id } = parse(z.object({ id: Id }), req.params, 'params');
    const a = await store.getArtifact(id);
    if (!a) throw new ApiError('FLEET_ERR_NOT_FOUND', `no artifact "${id}"`);
    const { file: _f, ...rest } = a;
    return { artifact: rest };
  });

  /**
   * Upload: the bundle as `application/octet-stream`, its signed metadata (the protocol's Artifact:
   * id, kind, name, version, size, sha256, signature, keyId) as base64 JSON in `x-artifact`.
   */
  app.post('/api/artifacts', async (req, reply) => {
    const p = need(req, 'admin', 'operator');
    if (!Buffer.isBuffer(req.body)) throw new ApiError('FLEET_ERR_BAD_REQUEST', 'body: send the bundle as application/octet-stream');
    const header = req.headers['x-artifact'];
    if (typeof header !== 'string') throw new ApiError('FLEET_ERR_BAD_REQUEST', 'x-artifact: header with the base64 JSON metadata is required', { field: 'x-artifact' });
    let meta: unknown;
    try {
      meta = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    } catch {
      throw new ApiError('FLEET_ERR_BAD_REQUEST', 'x-artifact: not base64 JSON', { field: 'x-artifact' });
    }
    try {
      const a = await artifacts.add(meta, req.body, p.username, now());
      await store.audit(p.username, 'artifact.upload', a.id, { name: a.name, version: a.version, sha256: a.sha256, keyId: a.keyId }, now());
      const { file: _f, ...rest } = a;
      return reply.code(201).send({ artifact: rest });
    } catch (err) {
      if (err instanceof ArtifactError) {
        const id = (meta as { id?: unknown })?.id;
        await store.audit(p.username, 'artifact.refused', typeof id === 'string' ? id.slice(0, 64) : null, { reason: err.code, message: err.message }, now());
        if (err.code === 'exists') throw new ApiError('FLEET_ERR_CONFLICT', err.message, { reason: err.code });
        throw new ApiError('FLEET_ERR_ARTIFACT_REJECTED', err.message, { reason: err.code, field: err.field });
      }
      throw err;
    }
  });

  // ---- rollouts ----------------------------------------------------------------------------

  const rolloutError = (err: unknown): never => {
    if (err instanceof RolloutError) {
      const code = err.code === 'not-found' ? 'FLEET_ERR_NOT_FOUND' : err.code === 'conflict' ? 'FLEET_ERR_CONFLICT' : 'FLEET_ERR_BAD_REQUEST';
      throw new ApiError(code, err.message);
    }
    throw err;
  };

  app.get('/api/rollouts', async (req) => {
    need(req, 'admin', 'operator');
    return { rollouts: await store.listRollouts() };
  });

  app.post('/api/rollouts', async (req, reply) => {
    const p = need(req, 'admin', 'operator');
    const body = parse(
      z.object({
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
      }),
      req.body,
      'body',
    );
    const r = await engine.create(body, p.username).catch(rolloutError);
    return reply.code(201).send({ rollout: r });
  });

  app.get('/api/rollouts/:id', async (req) => {
    need(req, 'admin', 'operator');
    const { id } = parse(z.object({ id: Id }), req.params, 'params');
    const q = parse(z.object({ jobs: z.enum(['0', '1']).default('0') }), req.query, 'query');
    const s = await engine.summary(id).catch(rolloutError);
    return { ...s, jobs: q.jobs === '1' ? await store.jobs(id) : undefined };
  });

  for (const action of ['pause', 'resume', 'abort', 'rollback'] as const) {
    app.post(`/api/rollouts/:id/${action}`, async (req) => {
      const p = need(req, 'admin', 'operator');
      const { id } = parse(z.object({ id: Id }), req.params, 'params');
      const r = await engine[action](id, p.username).catch(rolloutError);
      return { rollout: r };
    });
  }

  // ---- HTTP artifact download (transfer: http) ---------------------------------------------

  /** `GET /dl/{jobId}/{hmac}`: no bearer token (a device has none); the URL is the capability. */
  app.get('/dl/:jobId/:sig', async (req, reply: FastifyReply) => {
    const { jobId, sig } = parse(z.object({ jobId: Id, sig: z.string().max(64) }), req.params, 'params');
    const want = Buffer.from(engine.downloadSignature(jobId));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new ApiError('FLEET_ERR_FORBIDDEN', 'bad download signature');
    const j = await store.getJob(jobId);
    if (!j || !(j.outcome === 'offered' || j.outcome === 'in-progress')) throw new ApiError('FLEET_ERR_NOT_FOUND', 'no open job');
    const a = await store.getArtifact(j.artifactId);
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
}

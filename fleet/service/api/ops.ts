/**
 * The service's own state: `/healthz` (503 when degraded), Prometheus `/metrics`, and for
 * operators the ingest counters, dead letters and the audit log.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { serviceHealth } from '../health.ts';
import { createFleetMetrics } from '../metrics.ts';
import type { ApiDeps } from './deps.ts';
import { need, parse } from './errors.ts';

export const opsRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  const { store, ingest, now } = deps;
  const registry = createFleetMetrics(ingest, store, now);
  app.addHook('onClose', async () => registry.clear());

  /** 503 when degraded, so a load balancer or systemd watchdog sees it without parsing. */
  app.get('/healthz', async (_req, reply) => {
    const s = ingest.stats();
    const h = serviceHealth(s, { now: now(), stuckAfterMs: deps.stuckAfterMs, mqtt: deps.mqtt });
    return reply.code(h.status === 'ok' ? 200 : 503).send({
      ...h,
      store: store.db.dialect,
      mqtt: s.connected,
      ingest: { received: s.received, deadLettered: s.deadLettered, retried: s.retried, redelivered: s.redelivered, storeErrors: s.storeErrors },
      // Whether this instance holds the rollout lease (runs the engine's ticks), and how many it ran.
      rollouts: deps.engine.leadership(),
    });
  });

  /** Counts only (no ids, no secrets): scraped without a token, like any Prometheus target. */
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.get('/api/ingest', async (req) => {
    need(req, 'admin', 'operator');
    return { ingest: ingest.stats(), counts: await store.messages.counts() };
  });

  app.get('/api/dead-letters', async (req) => {
    need(req, 'admin', 'operator');
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }), req.query, 'query');
    return { deadLetters: await store.deadLetters.list(q.limit), total: await store.deadLetters.count() };
  });

  app.get('/api/audit', async (req) => {
    need(req, 'admin', 'operator');
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), action: z.string().max(64).optional() }), req.query, 'query');
    return { audit: await store.auditLog.listAudit(q.limit, q.action) };
  });
};

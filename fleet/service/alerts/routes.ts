/**
 * `/api/alerts`: raised alerts (open by default; a manager sees only their store's devices) and
 * the sinks' delivery counters; `POST /api/alerts/:id/ack` records who acknowledged one, in the
 * alert and in the audit log.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api/deps.ts';
import { ApiError, mustSee, need, parse } from '../api/errors.ts';
import { scopeOf } from '../auth.ts';
import { ROLES } from '../store/fleet-store.ts';
import type { AlertEngine } from './engine.ts';
import type { Notifier } from './notifier.ts';

export interface AlertRouteDeps extends ApiDeps {
  alerts: AlertEngine;
  notifier: Notifier;
}

export const alertRoutes: FastifyPluginAsync<AlertRouteDeps> = async (app, { alerts, notifier, store, now }) => {
  app.get('/api/alerts', async (req) => {
    const p = need(req, ...ROLES);
    const q = parse(
      z.object({
        status: z.enum(['open', 'closed', 'all']).default('open'),
        store: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      req.query,
      'query',
    );
    const storeId = scopeOf(p).storeId ?? q.store;
    if (q.store !== undefined) mustSee(p, q.store);
    const list = await alerts.repo.list({ status: q.status === 'all' ? undefined : q.status, storeId, limit: q.limit });
    return { alerts: list, sinks: p.role === 'manager' ? undefined : notifier.stats() };
  });

  app.post('/api/alerts/:id/ack', async (req) => {
    const p = need(req, 'admin', 'operator');
    const { id } = parse(z.object({ id: z.uuid() }), req.params, 'params');
    const before = await alerts.repo.get(id);
    if (!before || before.status === 'pending') throw new ApiError('FLEET_ERR_NOT_FOUND', `no alert ${id}`);
    if (before.ackedAt !== null) throw new ApiError('FLEET_ERR_CONFLICT', `alert ${id} was acknowledged by ${before.ackedBy}`);
    const t = now();
    const after = await alerts.repo.ack(id, p.username, t);
    if (after?.ackedBy !== p.username) throw new ApiError('FLEET_ERR_CONFLICT', `alert ${id} was acknowledged by ${after?.ackedBy}`);
    await store.auditLog.audit(p.username, 'alert.ack', id, { kind: after.kind, subject: after.subject }, t);
    return { alert: after };
  });
};

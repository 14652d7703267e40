/**
 * GET /api/recommendations: the recommendation artifact as of now (admin, operator), UNSIGNED:
 * the operator signs it offline (`fleet recommendations` then `fleet sign --kind recommendations`)
 * and pushes it like any artifact, so the service never holds a signing key. The k of
 * k-anonymity is the service's configuration (recommendations.minSessions); a query may raise it
 * for one build, never lower it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api/deps.ts';
import { need, parse } from '../api/errors.ts';
import { aggregateTrends, DAY_MS, versionAt } from './aggregate.ts';
import { toneEvents } from './tone-events.ts';

export const recommendationRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, now, recommendations }) => {
  const Query = z
    .object({
      windowDays: z.coerce.number().int().min(1).max(183).optional(),
      minSessions: z.coerce
        .number()
        .int()
        .min(recommendations.minSessions, { error: `may not be below the configured ${recommendations.minSessions}` })
        .optional(),
    })
    .strict();

  app.get('/api/recommendations', async (req) => {
    need(req, 'admin', 'operator');
    const q = parse(Query, req.query, 'query');
    const t = now();
    const windowDays = q.windowDays ?? recommendations.windowDays;
    const events = await toneEvents(store.db, t - 2 * windowDays * DAY_MS, t + 1);
    return aggregateTrends(events, { now: t, windowDays, minSessions: q.minSessions ?? recommendations.minSessions, version: versionAt(t) });
  });
};

/**
 * Stores: the list (a manager gets only their own), one store's settings (time zone, name), its
 * dashboard figures and their CSV export. A manager asking for another store gets 403, whatever
 * the route.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { scopeOf } from '../auth.ts';
import { deviceHealth } from '../health.ts';
import { resolveRange, storeStats, type StoreStats } from '../store-stats.ts';
import { ROLES } from '../store/fleet-store.ts';
import { dateKey, isoLocal, isTimeZone } from '../time-zone.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, mustSee, need, parse } from './errors.ts';

const StoreParams = z.object({ storeId: z.string().regex(ID_PATTERN) });
const Range = z
  .object({
    from: z.coerce.number().int().min(0).optional(),
    to: z.coerce.number().int().min(0).optional(),
    days: z.coerce.number().int().min(1).max(93).optional(),
  })
  .strict();
const Settings = z
  .object({
    timeZone: z.string().refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Paris' }),
    name: z.string().trim().min(1).max(80).nullable().optional(),
  })
  .strict();

/** One line per local hour: what the charts show, for a spreadsheet (numbers and ISO times only). */
export function statsCsv(s: StoreStats): string {
  const lines = ['hour_start_local,hour_start_utc,sessions,sessions_tried,sessions_saved'];
  for (const b of s.hourly) lines.push([isoLocal(b.start, s.timeZone), new Date(b.start).toISOString(), b.sessions, b.tried, b.saved].join(','));
  return lines.join('\r\n') + '\r\n';
}

export const storeRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, now }) => {
  /** The store, its time zone and the figures for the range a query asks for. */
  const figures = async (req: FastifyRequest) => {
    const p = need(req, ...ROLES);
    const { storeId } = parse(StoreParams, req.params, 'params');
    mustSee(p, storeId);
    const q = parse(Range, req.query, 'query');
    const tz = await store.stores.timeZone(storeId);
    let range: { from: number; to: number };
    try {
      range = resolveRange(q, now(), tz);
    } catch (err) {
      throw new ApiError('FLEET_ERR_BAD_REQUEST', `query: ${(err as Error).message}`, { field: 'query' });
    }
    return storeStats(store, storeId, range, tz);
  };

  app.get('/api/stores', async (req) => {
    const p = need(req, ...ROLES);
    return { stores: await store.stores.list(scopeOf(p)) };
  });

  app.get('/api/stores/:storeId', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId } = parse(StoreParams, req.params, 'params');
    mustSee(p, storeId);
    const s = await store.stores.get(storeId);
    if (!s) throw new ApiError('FLEET_ERR_NOT_FOUND', `no store "${storeId}"`);
    return { store: s };
  });

  /** Operators set any store's settings; a manager their own store's (its clock is theirs). */
  app.put('/api/stores/:storeId/settings', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId } = parse(StoreParams, req.params, 'params');
    mustSee(p, storeId);
    const body = parse(Settings, req.body, 'body');
    await store.stores.set(storeId, body, p.username, now());
    await store.auditLog.audit(p.username, 'store.settings', storeId, { timeZone: body.timeZone, name: body.name ?? null }, now());
    return { store: await store.stores.get(storeId) };
  });

  /** Sessions, dwell time, products tried and saved, conversion, and device health for one store. */
  app.get('/api/stores/:storeId/stats', async (req) => {
    const s = await figures(req);
    const t = now();
    const health: Record<string, number> = {};
    const devices = await store.devices.listDevices({ storeId: s.storeId });
    for (const d of devices) {
      const h = deviceHealth(d, t).health;
      health[h] = (health[h] ?? 0) + 1;
    }
    return { ...s, devices: devices.length, health };
  });

  app.get('/api/stores/:storeId/export.csv', async (req, reply) => {
    const s = await figures(req);
    const name = `${s.storeId}-sessions-${dateKey(s.from, s.timeZone)}-to-${dateKey(s.to - 1, s.timeZone)}.csv`;
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(statsCsv(s));
  });
};

/** Devices and fleet health: what a store manager (own store) and an operator see. */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { scopeOf } from '../auth.ts';
import { deviceHealth } from '../health.ts';
import { ROLES, type DeviceRow } from '../store/fleet-store.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, mustSee, need, parse } from './errors.ts';

const Id = z.string().regex(ID_PATTERN);
const DeviceParams = z.object({ storeId: Id, deviceId: Id });

const deviceView = (d: DeviceRow, now: number) => ({ ...d, ...deviceHealth(d, now) });

export const deviceRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, now }) => {
  app.get('/api/devices', async (req) => {
    const p = need(req, ...ROLES);
    const q = parse(z.object({ store: Id.optional() }), req.query, 'query');
    if (q.store !== undefined) mustSee(p, q.store);
    const scope = q.store !== undefined ? { storeId: q.store } : scopeOf(p);
    const t = now();
    return { devices: (await store.devices.listDevices(scope)).map((d) => deviceView(d, t)) };
  });

  app.get('/api/devices/:storeId/:deviceId', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId, deviceId } = parse(DeviceParams, req.params, 'params');
    mustSee(p, storeId);
    const d = await store.devices.getDevice(storeId, deviceId);
    if (!d) throw new ApiError('FLEET_ERR_NOT_FOUND', `no device ${storeId}/${deviceId}`);
    return { device: deviceView(d, now()), jobs: p.role === 'manager' ? undefined : await store.rollouts.deviceJobs(storeId, deviceId) };
  });

  app.get('/api/devices/:storeId/:deviceId/telemetry', async (req) => {
    const p = need(req, ...ROLES);
    const { storeId, deviceId } = parse(DeviceParams, req.params, 'params');
    mustSee(p, storeId);
    const q = parse(z.object({ since: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(5000).default(500) }), req.query, 'query');
    return { telemetry: await store.devices.telemetry(storeId, deviceId, q.since, q.limit) };
  });

  app.put('/api/devices/:storeId/:deviceId/tags', async (req) => {
    const p = need(req, 'admin', 'operator');
    const { storeId, deviceId } = parse(DeviceParams, req.params, 'params');
    const body = parse(z.object({ tags: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/)).max(32) }), req.body, 'body');
    if (!(await store.devices.setTags(storeId, deviceId, body.tags))) throw new ApiError('FLEET_ERR_NOT_FOUND', `no device ${storeId}/${deviceId}`);
    await store.auditLog.audit(p.username, 'device.tags', `${storeId}/${deviceId}`, { tags: body.tags }, now());
    return { ok: true, tags: body.tags };
  });

  /** Fleet-wide health: per store, devices by health word. */
  app.get('/api/health', async (req) => {
    const p = need(req, ...ROLES);
    const t = now();
    const byStore = new Map<string, Record<string, number>>();
    for (const d of await store.devices.listDevices(scopeOf(p))) {
      const h = deviceHealth(d, t).health;
      const m = byStore.get(d.storeId) ?? {};
      m[h] = (m[h] ?? 0) + 1;
      byStore.set(d.storeId, m);
    }
    return { stores: [...byStore].map(([storeId, health]) => ({ storeId, health })) };
  });
};

/**
 * The command API. Operators and admins may send any command to any mirror; a store manager only
 * `restart` and `self-test`, and only to their own store's mirrors (what a manager needs when a
 * mirror misbehaves; logs, log levels and config stay with the operators).
 *
 *   POST /api/devices/:storeId/:deviceId/commands  { name, args?, wait?, timeoutS? }
 *        → { command } once the result is in (or, past the wait, as it stands: status "sent")
 *   GET  /api/devices/:storeId/:deviceId/commands?limit=N
 *   GET  /api/commands/:id
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { COMMAND_ARGS, COMMAND_NAMES, type CommandName } from '../../protocol/commands.ts';
import { ID_PATTERN } from '../../protocol/topics.ts';
import type { ApiDeps } from '../api/deps.ts';
import { ApiError, mustSee, need, parse } from '../api/errors.ts';
import { ROLES } from '../store/fleet-store.ts';

export const MANAGER_COMMANDS: readonly CommandName[] = ['restart', 'self-test'];

const Id = z.string().regex(ID_PATTERN);
const DeviceParams = z.object({ storeId: Id, deviceId: Id });
const SendBody = z.strictObject({
  name: z.enum(COMMAND_NAMES),
  args: z.record(z.string().max(64), z.unknown()).default({}),
  wait: z.boolean().default(true),
  timeoutS: z.int().min(1).max(120).optional(),
});

export const commandRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, commands }) => {
  app.post('/api/devices/:storeId/:deviceId/commands', async (req, reply) => {
    const p = need(req, ...ROLES);
    const target = parse(DeviceParams, req.params, 'params');
    mustSee(p, target.storeId);
    const body = parse(SendBody, req.body, 'body');
    if (p.role === 'manager' && !MANAGER_COMMANDS.includes(body.name)) {
      throw new ApiError('FLEET_ERR_FORBIDDEN', `a store manager may send ${MANAGER_COMMANDS.join(' and ')} only`);
    }
    const args = COMMAND_ARGS[body.name].safeParse(body.args);
    if (!args.success) {
      const i = args.error.issues[0];
      const field = ['args', ...i.path.map(String), ...(i.code === 'unrecognized_keys' ? [i.keys[0]] : [])].join('.');
      throw new ApiError('FLEET_ERR_BAD_REQUEST', `${field}: ${i.message}`, { field });
    }
    if (!(await store.devices.getDevice(target.storeId, target.deviceId))) throw new ApiError('FLEET_ERR_NOT_FOUND', `no device ${target.storeId}/${target.deviceId}`);
    const why = commands.unavailable();
    if (why !== undefined) throw new ApiError('FLEET_ERR_CONFLICT', why);
    const sent = await commands.send(p.username, target, body.name, args.data as Record<string, unknown>);
    if (!body.wait) return reply.code(202).send({ command: sent });
    const done = (await commands.wait(sent.id, (body.timeoutS ?? commands.defaultWaitS) * 1000)) ?? sent;
    return reply.code(done.status === 'sent' ? 202 : 200).send({ command: done });
  });

  app.get('/api/devices/:storeId/:deviceId/commands', async (req) => {
    const p = need(req, ...ROLES);
    const target = parse(DeviceParams, req.params, 'params');
    mustSee(p, target.storeId);
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }), req.query, 'query');
    return { commands: (await commands.repo.listForDevice(target.storeId, target.deviceId, q.limit)) };
  });

  app.get('/api/commands/:id', async (req) => {
    const p = need(req, ...ROLES);
    const { id } = parse(z.object({ id: z.uuid() }), req.params, 'params');
    const row = await commands.repo.get(id);
    // Another store's command reads as absent to a manager, as an unknown id does.
    if (!row || (p.role === 'manager' && p.storeId !== row.storeId)) throw new ApiError('FLEET_ERR_NOT_FOUND', `no command ${id}`);
    return { command: row };
  });
};

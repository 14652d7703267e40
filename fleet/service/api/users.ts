/** User accounts: admins list and add them. */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { hashPassword } from '../auth.ts';
import { ROLES, type Role } from '../store/fleet-store.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, need, parse } from './errors.ts';

const NewUser = z
  .object({
    username: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/),
    password: z.string().min(8).max(1024),
    role: z.enum(ROLES as [Role, ...Role[]]),
    storeId: z.string().regex(ID_PATTERN).optional(),
  })
  .refine((u) => u.role !== 'manager' || u.storeId !== undefined, { error: 'a manager needs a storeId', path: ['storeId'] });

export const userRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, now }) => {
  app.get('/api/users', async (req) => {
    need(req, 'admin');
    return { users: await store.users.listUsers() };
  });

  app.post('/api/users', async (req, reply) => {
    const p = need(req, 'admin');
    const body = parse(NewUser, req.body, 'body');
    const ok = await store.users.createUser(
      { username: body.username, role: body.role, storeId: body.storeId ?? null, passwordHash: await hashPassword(body.password), createdBy: p.username },
      now(),
    );
    if (!ok) throw new ApiError('FLEET_ERR_CONFLICT', `user "${body.username}" exists`);
    await store.auditLog.audit(p.username, 'user.add', body.username, { role: body.role, storeId: body.storeId ?? null }, now());
    return reply.code(201).send({ username: body.username, role: body.role, storeId: body.storeId ?? null });
  });
};

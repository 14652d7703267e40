/** Login, logout, who am I. Logins are throttled per user and per address (login-limiter.ts). */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { LoginLimiter } from '../login-limiter.ts';
import { ROLES } from '../store/fleet-store.ts';
import { ApiError, need, parse } from './errors.ts';
import type { ApiDeps } from './deps.ts';

export const sessionRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, auth, now, loginLimits }) => {
  const limiter = new LoginLimiter(loginLimits);
  app.addHook('onClose', async () => limiter.clear());

  app.post('/api/login', async (req, reply) => {
    const body = parse(z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }), req.body, 'body');
    const t = now();
    const wait = limiter.begin(body.username, req.ip, t);
    if (wait > 0) throw new ApiError('FLEET_ERR_RATE_LIMITED', `too many failed logins; try again in ${wait} s`, { retryAfterS: wait });
    let r: Awaited<ReturnType<typeof auth.login>>;
    try {
      r = await auth.login(body.username, body.password, t);
    } catch (err) {
      limiter.release(body.username, req.ip);
      throw err;
    }
    if (!r) {
      const v = limiter.failure(body.username, req.ip, t);
      if (v.audit === 'failed') await store.auditLog.audit(body.username, 'login.failed', null, { ip: req.ip }, t);
      else await store.auditLog.audit(body.username, 'login.locked', v.key === 'ip' ? req.ip : body.username, { ip: req.ip, failures: v.failures, until: v.lockedUntil }, t);
      throw new ApiError('FLEET_ERR_AUTH', 'wrong username or password');
    }
    limiter.success(body.username, req.ip);
    await store.auditLog.audit(body.username, 'login', null, { ip: req.ip }, t);
    return reply.send({ token: r.token, expiresAt: r.expiresAt, user: r.user });
  });

  app.post('/api/logout', async (req) => {
    const p = need(req, ...ROLES);
    await auth.logout(req.headers.authorization);
    await store.auditLog.audit(p.username, 'logout', null, null, now());
    return { ok: true };
  });

  app.get('/api/me', async (req) => need(req, ...ROLES));
};

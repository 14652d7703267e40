/**
 * Login, logout, who am I. `POST /api/login` answers a bearer token (the CLI); `POST /api/session`
 * sets the dashboard's session cookie instead and never shows the token to page scripts
 * (cookie-session.ts). Logins are throttled per user and per address (login-limiter.ts).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerToken } from '../auth.ts';
import { LoginLimiter } from '../login-limiter.ts';
import { ROLES } from '../store/fleet-store.ts';
import { cookieOptions, SESSION_COOKIE, sessionToken } from './cookie-session.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, need, parse } from './errors.ts';

const Credentials = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });

export const sessionRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, auth, now, loginLimits }) => {
  const limiter = new LoginLimiter(loginLimits);
  app.addHook('onClose', async () => limiter.clear());

  /** One login attempt, throttled and audited; throws FLEET_ERR_AUTH on a wrong password. */
  const attempt = async (req: FastifyRequest) => {
    const body = parse(Credentials, req.body, 'body');
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
    await store.auditLog.audit(body.username, 'login', null, { ip: req.ip, via: req.url === '/api/session' ? 'dashboard' : 'token' }, t);
    return r;
  };

  app.post('/api/login', async (req, reply) => {
    const r = await attempt(req);
    return reply.send({ token: r.token, expiresAt: r.expiresAt, user: r.user });
  });

  app.post('/api/session', async (req, reply) => {
    const r = await attempt(req);
    return reply.setCookie(SESSION_COOKIE, r.token, cookieOptions(req, r.expiresAt)).send({ expiresAt: r.expiresAt, user: r.user });
  });

  app.post('/api/logout', async (req, reply) => {
    const p = need(req, ...ROLES);
    await auth.logout(bearerToken(req.headers.authorization) ?? sessionToken(req, app.parseCookie));
    await store.auditLog.audit(p.username, 'logout', null, null, now());
    return reply.clearCookie(SESSION_COOKIE, cookieOptions(req, undefined)).send({ ok: true });
  });

  app.get('/api/me', async (req) => need(req, ...ROLES));
};

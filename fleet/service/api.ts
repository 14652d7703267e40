/**
 * The JSON API for the dashboard and the operator CLI, assembled from one Fastify plugin per
 * resource (api/*.ts), and the dashboard's static files at `/`. Every `/api/*` route except the
 * two logins needs `Authorization: Bearer <token>` (the CLI) or the dashboard's session cookie
 * (api/cookie-session.ts, CSRF-checked); a manager sees only their own store; operators and
 * admins see every store and run rollouts; only admins manage users. Errors are
 * `{ error: { code, message } }` with stable codes (api/errors.ts). No route serves or accepts an
 * image: telemetry is counts, timings and ids.
 */
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { artifactRoutes } from './api/artifacts.ts';
import { commandRoutes } from './commands/routes.ts';
import { checkCsrf, sessionToken } from './api/cookie-session.ts';
import { dashboardRoutes } from './api/dashboard.ts';
import type { ApiDeps } from './api/deps.ts';
import { deviceRoutes } from './api/devices.ts';
import { ApiError, errorHandler, rejectControlChars } from './api/errors.ts';
import { opsRoutes } from './api/ops.ts';
import { rolloutRoutes } from './api/rollouts.ts';
import { sessionRoutes } from './api/session.ts';
import { storeRoutes } from './api/stores.ts';
import { userRoutes } from './api/users.ts';
import { recommendationRoutes } from './recommendations/routes.ts';
import type { Principal } from './auth.ts';


declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const { auth, now } = deps;
  app.setErrorHandler(errorHandler);
  // Security headers on every answer (nosniff, frame-ancestors none, no referrer, HSTS, CSP).
  app.register(helmet, { global: true });
  // Parsed on demand in the hook below (which runs before a plugin's own onRequest hook would).
  app.register(cookie, { hook: false });

  app.addHook('onRequest', async (req) => {
    const url = req.url.split('?')[0];
    if (!url.startsWith('/api/') || url === '/api/login') return;
    if (url === '/api/session') return checkCsrf(req);
    let p: Principal | undefined;
    if (req.headers.authorization !== undefined) {
      p = await auth.authenticate(req.headers.authorization, now());
    } else {
      const token = sessionToken(req, app.parseCookie);
      if (token !== undefined) {
        checkCsrf(req);
        p = await auth.authenticateToken(token, now());
      }
    }
    if (!p) throw new ApiError('FLEET_ERR_AUTH', 'a valid bearer token or session is required');
    req.principal = p;
  });
  app.addHook('preValidation', async (req) => rejectControlChars(req));

  for (const routes of [opsRoutes, sessionRoutes, userRoutes, deviceRoutes, storeRoutes, artifactRoutes, rolloutRoutes, recommendationRoutes, commandRoutes]) {
    app.register(routes, deps);
  }
  app.register(dashboardRoutes, deps);
}

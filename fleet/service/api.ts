/**
 * The JSON API for the dashboard and the operator CLI, assembled from one Fastify plugin per
 * resource (api/*.ts). Every `/api/*` route except `/api/login` needs `Authorization: Bearer
 * <token>`; a manager sees only their own store; operators and admins see every store and run
 * rollouts; only admins manage users. Errors are `{ error: { code, message } }` with stable codes
 * (api/errors.ts). No route serves or accepts an image: telemetry is counts, timings and ids.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { artifactRoutes } from './api/artifacts.ts';
import type { ApiDeps } from './api/deps.ts';
import { deviceRoutes } from './api/devices.ts';
import { ApiError, errorHandler, rejectControlChars } from './api/errors.ts';
import { opsRoutes } from './api/ops.ts';
import { rolloutRoutes } from './api/rollouts.ts';
import { sessionRoutes } from './api/session.ts';
import { userRoutes } from './api/users.ts';
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

  app.addHook('onRequest', async (req) => {
    const url = req.url.split('?')[0];
    if (!url.startsWith('/api/') || url === '/api/login') return;
    const p = await auth.authenticate(req.headers.authorization, now());
    if (!p) throw new ApiError('FLEET_ERR_AUTH', 'a valid bearer token is required');
    req.principal = p;
  });
  app.addHook('preValidation', async (req) => rejectControlChars(req));

  for (const routes of [opsRoutes, sessionRoutes, userRoutes, deviceRoutes, artifactRoutes, rolloutRoutes]) app.register(routes, deps);
}

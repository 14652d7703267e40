/**
 * The dashboard (fleet/dashboard, built by `npm run build:dashboard`) served at `/`: hashed assets
 * cached for good, index.html never cached (a new build is picked up on the next load). Without a
 * build, `/` says how to make one instead of a bare 404.
 */
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from './deps.ts';

export const dashboardRoutes: FastifyPluginAsync<ApiDeps> = async (app, { dashboardDir }) => {
  if (!existsSync(path.join(dashboardDir, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send(`The dashboard is not built (${dashboardDir}): run npm run build:dashboard\n`),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dashboardDir,
    prefix: '/',
    index: 'index.html',
    // API 404s stay JSON; only these files are the dashboard's.
    allowedPath: (p) => !p.startsWith('/api/'),
    setHeaders: (reply, file) => {
      reply.header('cache-control', file.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
};

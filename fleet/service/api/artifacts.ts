/**
 * Artifacts: list, show, upload. An upload is the bundle as `application/octet-stream` with its
 * signed metadata (the protocol's Artifact: id, kind, name, version, size, sha256, signature,
 * keyId, rollbackFrom for a signed rollback) as base64 JSON in `x-artifact`; refused unless size, sha256 and signature check out.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { MAX_ARTIFACT_BYTES } from '../../protocol/update.ts';
import { ArtifactError } from '../rollouts/artifacts.ts';
import type { ArtifactRow } from '../store/fleet-store.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, need, parse } from './errors.ts';

const withoutFile = ({ file: _f, ...a }: ArtifactRow) => a;

function metadata(header: string | string[] | undefined): unknown {
  if (typeof header !== 'string') throw new ApiError('FLEET_ERR_BAD_REQUEST', 'x-artifact: header with the base64 JSON metadata is required', { field: 'x-artifact' });
  try {
    return JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    throw new ApiError('FLEET_ERR_BAD_REQUEST', 'x-artifact: not base64 JSON', { field: 'x-artifact' });
  }
}

export const artifactRoutes: FastifyPluginAsync<ApiDeps> = async (app, { store, artifacts, now }) => {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_ARTIFACT_BYTES }, (_req, body, done) => done(null, body));

  app.get('/api/artifacts', async (req) => {
    need(req, 'admin', 'operator');
    return { artifacts: (await store.artifacts.listArtifacts()).map(withoutFile) };
  });

  app.get('/api/artifacts/:id', async (req) => {
    need(req, 'admin', 'operator');
    const { id } = parse(z.object({ id: z.string().regex(ID_PATTERN) }), req.params, 'params');
    const a = await store.artifacts.getArtifact(id);
    if (!a) throw new ApiError('FLEET_ERR_NOT_FOUND', `no artifact "${id}"`);
    return { artifact: withoutFile(a) };
  });

  app.post('/api/artifacts', async (req, reply) => {
    const p = need(req, 'admin', 'operator');
    if (!Buffer.isBuffer(req.body)) throw new ApiError('FLEET_ERR_BAD_REQUEST', 'body: send the bundle as application/octet-stream');
    const meta = metadata(req.headers['x-artifact']);
    try {
      const a = await artifacts.add(meta, req.body, p.username, now());
      await store.auditLog.audit(p.username, 'artifact.upload', a.id, { name: a.name, version: a.version, sha256: a.sha256, keyId: a.keyId }, now());
      return reply.code(201).send({ artifact: withoutFile(a) });
    } catch (err) {
      if (!(err instanceof ArtifactError)) throw err;
      const id = (meta as { id?: unknown })?.id;
      await store.auditLog.audit(p.username, 'artifact.refused', typeof id === 'string' ? id.slice(0, 64) : null, { reason: err.code, message: err.message }, now());
      if (err.code === 'exists') throw new ApiError('FLEET_ERR_CONFLICT', err.message, { reason: err.code });
      throw new ApiError('FLEET_ERR_ARTIFACT_REJECTED', err.message, { reason: err.code, field: err.field });
    }
  });
};

/**
 * The API's one catalogue of errors (`{ error: { code, message, field? } }` with stable codes),
 * the zod parse that names the offending field, the role check, and the error handler that turns
 * everything else into those shapes: never a bare 500 for bad input.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CONTROL_CHARS } from '../../protocol/schemas.ts';
import { canSeeStore, type Principal } from '../auth.ts';
import type { Role } from '../store/fleet-store.ts';

export const API_ERRORS = {
  FLEET_ERR_AUTH: 401,
  FLEET_ERR_FORBIDDEN: 403,
  FLEET_ERR_NOT_FOUND: 404,
  FLEET_ERR_BAD_REQUEST: 400,
  FLEET_ERR_CONFLICT: 409,
  FLEET_ERR_ARTIFACT_REJECTED: 422,
  FLEET_ERR_RATE_LIMITED: 429,
  FLEET_ERR_INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function parse<T extends z.ZodType>(schema: T, v: unknown, where: string): z.infer<T> {
  const r = schema.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0];
    const field = i.path.length ? i.path.map(String).join('.') : where;
    throw new ApiError('FLEET_ERR_BAD_REQUEST', `${field}: ${i.message}`, { field });
  }
  return r.data;
}

export function need(req: FastifyRequest, ...roles: Role[]): Principal {
  const p = req.principal;
  if (!p) throw new ApiError('FLEET_ERR_AUTH', 'a bearer token is required');
  if (!roles.includes(p.role)) throw new ApiError('FLEET_ERR_FORBIDDEN', `needs role ${roles.join(' or ')}`);
  return p;
}

/** A manager asking for another store's anything: 403. */
export function mustSee(p: Principal, storeId: string): void {
  if (!canSeeStore(p, storeId)) throw new ApiError('FLEET_ERR_FORBIDDEN', `store "${storeId}" is not yours`);
}

/**
 * The first string under `value` with a control character (NUL among them), as a dotted path:
 * PostgreSQL refuses NUL in text, so such input is refused here, naming the field, for every route.
 */
export function controlCharField(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return CONTROL_CHARS.test(value) ? path : undefined;
  if (depth > 8 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = controlCharField(v, `${path}.${k}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function rejectControlChars(req: FastifyRequest): void {
  const field = controlCharField(req.query, 'query') ?? controlCharField(req.body, 'body');
  if (field !== undefined) throw new ApiError('FLEET_ERR_BAD_REQUEST', `${field}: must not contain control characters`, { field });
}

export function errorHandler(err: FastifyError | ApiError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ApiError) {
    if (err.code === 'FLEET_ERR_RATE_LIMITED' && typeof err.detail?.retryAfterS === 'number') reply.header('retry-after', String(err.detail.retryAfterS));
    return reply.code(API_ERRORS[err.code]).send({ error: { code: err.code, message: err.message, ...err.detail } });
  }
  const e = err as { statusCode?: number; message?: string };
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return reply.code(e.statusCode).send({ error: { code: 'FLEET_ERR_BAD_REQUEST', message: e.message ?? 'bad request' } });
  }
  // PostgreSQL's "data exception" class: a value it refuses slipped past a schema. The request
  // was bad, not the service.
  const sqlstate = (err as { code?: unknown }).code;
  if (typeof sqlstate === 'string' && /^22[0-9A-Z]{3}$/.test(sqlstate)) {
    req.log.warn({ err }, 'store refused a request value');
    return reply.code(400).send({ error: { code: 'FLEET_ERR_BAD_REQUEST', message: 'a value in the request is not acceptable' } });
  }
  req.log.error({ err }, 'request failed');
  return reply.code(API_ERRORS.FLEET_ERR_INTERNAL).send({ error: { code: 'FLEET_ERR_INTERNAL' satisfies ApiErrorCode, message: 'internal error' } });
}

/**
 * The dashboard's session: the same opaque token as the CLI's bearer, carried in an HttpOnly,
 * SameSite=Strict cookie (page scripts never see it). CSRF: a browser never sends a Strict cookie
 * on a request another site starts, and every cookie-authenticated request that changes something
 * (and the cookie login itself) must also carry `x-fleet-csrf: 1`, a header another origin cannot
 * add without a CORS preflight this service never grants, and an Origin, when the browser sends
 * one, that is this service's own.
 */
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

export const SESSION_COOKIE = 'fleet_session';
export const CSRF_HEADER = 'x-fleet-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cookieOptions(req: FastifyRequest, expiresAt: number | undefined): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    // Secure where the service is reached over TLS (directly or behind a proxy that says so).
    secure: req.protocol === 'https',
    ...(expiresAt === undefined ? {} : { expires: new Date(expiresAt) }),
  };
}

/** The session token in the request's cookie header, if any. */
export function sessionToken(req: FastifyRequest, parse: (header: string) => Record<string, string | undefined>): string | undefined {
  const header = req.headers.cookie;
  return header ? parse(header)[SESSION_COOKIE] : undefined;
}

/** Throws FLEET_ERR_FORBIDDEN unless a state-changing cookie request is provably same-origin. */
export function checkCsrf(req: FastifyRequest): void {
  if (SAFE_METHODS.has(req.method)) return;
  if (req.headers[CSRF_HEADER] !== '1') {
    throw new ApiError('FLEET_ERR_FORBIDDEN', `${CSRF_HEADER}: this header is required with a session cookie`, { field: CSRF_HEADER });
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${req.protocol}://${req.host}`) {
    throw new ApiError('FLEET_ERR_FORBIDDEN', `origin: "${origin.slice(0, 100)}" is not this service`, { field: 'origin' });
  }
}

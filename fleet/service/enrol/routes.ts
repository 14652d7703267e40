/**
 * Enrolment over HTTP:
 *   POST /api/enrol/tokens                        operator/admin: `{storeId, deviceId, ttlS?}` → a one-time token
 *   POST /enrol/v1                                a new mirror: `{token, csr}` (csr: base64 DER) → its certificate and the CA (PEM)
 *                                                 (no login: the token is the credential; rate-limited per address)
 *   POST /enrol/v1/renew                          an enrolled mirror before expiry: `{certificate, csr, signature}` (base64 DER;
 *                                                 the signature over the CSR by the current certificate's key) → a new certificate
 *   POST /api/devices/:storeId/:deviceId/revoke   operator/admin: `{reason?}` → CRL to the broker, connection cut
 * Bodies are zod-checked; a refusal names the field (`token: ... already used`).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import { ApiError, need, parse } from '../api/errors.ts';
import { ENROL_TOKEN, EnrolRefused, type Enrolment } from './enrolment.ts';
import { AttemptLimiter } from './rate-limit.ts';

const Id = z.string().regex(ID_PATTERN, 'must be 1-64 letters, digits, _ or -');

export const TokenRequest = z.strictObject({ storeId: Id, deviceId: Id, ttlS: z.int().min(60).max(30 * 86_400).optional() });
export const EnrolRequest = z.strictObject({
  token: z.string().regex(ENROL_TOKEN, 'must be an enrolment token (mten_ and 43 characters)'),
  /** Base64 of the DER request (PEM's line breaks would be control characters, refused API-wide). */
  csr: z
    .string()
    .min(64, 'must be base64 of a DER certificate request')
    .max(8192, 'is too long for a certificate request')
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64 of a DER certificate request'),
});
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
export const RenewRequest = z.strictObject({
  certificate: z.string().min(64).max(8192).regex(B64, 'must be base64 of the DER certificate being renewed'),
  csr: EnrolRequest.shape.csr,
  signature: z.string().min(16).max(512).regex(B64, "must be base64 of the CSR's signature by the current key"),
});
const RevokeRequest = z.strictObject({ reason: z.string().min(1).max(200).optional() });

export interface EnrolRouteDeps {
  enrolment: Enrolment | undefined;
  maxAttemptsPerMinute: number;
  now: () => number;
}

export const enrolRoutes: FastifyPluginAsync<EnrolRouteDeps> = async (app, { enrolment, maxAttemptsPerMinute, now }) => {
  const limiter = new AttemptLimiter(maxAttemptsPerMinute);
  const enabled = (): Enrolment => {
    if (!enrolment) throw new ApiError('FLEET_ERR_CONFLICT', 'enrolment is not configured on this fleet service (config key "enrol")');
    return enrolment;
  };

  app.post('/api/enrol/tokens', async (req) => {
    const p = need(req, 'admin', 'operator');
    const body = parse(TokenRequest, req.body, 'body');
    const t = await enabled().createToken(p.username, body.storeId, body.deviceId, body.ttlS);
    return { token: t.token, expiresAt: t.expiresAt, storeId: body.storeId, deviceId: body.deviceId };
  });

  /** The mirror-facing routes: rate-limited per address, refusals mapped to 400/403 naming the field. */
  const mirrorRoute = <T>(run: (e: Enrolment, body: unknown, ip: string) => Promise<T>) =>
    async (req: FastifyRequest): Promise<T> => {
      const wait = limiter.hit(req.ip, now());
      if (wait > 0) throw new ApiError('FLEET_ERR_RATE_LIMITED', `too many enrolment attempts from this address; retry in ${wait} s`, { retryAfterS: wait });
      try {
        return await run(enabled(), req.body, req.ip);
      } catch (err) {
        if (err instanceof EnrolRefused) {
          const code = err.reason === 'bad-csr' ? 'FLEET_ERR_BAD_REQUEST' : 'FLEET_ERR_FORBIDDEN';
          throw new ApiError(code, err.message, { field: err.field, reason: err.reason });
        }
        throw err;
      }
    };

  app.post(
    '/enrol/v1',
    mirrorRoute((e, raw, ip) => {
      const body = parse(EnrolRequest, raw, 'body');
      return e.enrol(body.token, Buffer.from(body.csr, 'base64'), ip);
    }),
  );

  app.post(
    '/enrol/v1/renew',
    mirrorRoute((e, raw, ip) => {
      const body = parse(RenewRequest, raw, 'body');
      return e.renew(Buffer.from(body.certificate, 'base64'), Buffer.from(body.csr, 'base64'), Buffer.from(body.signature, 'base64'), ip);
    }),
  );

  app.post('/api/devices/:storeId/:deviceId/revoke', async (req) => {
    const p = need(req, 'admin', 'operator');
    const { storeId, deviceId } = parse(z.object({ storeId: Id, deviceId: Id }), req.params, 'params');
    const body = parse(RevokeRequest, req.body ?? {}, 'body');
    const r = await enabled().revoke(p.username, storeId, deviceId, body.reason ?? null);
    if (r === undefined) throw new ApiError('FLEET_ERR_NOT_FOUND', `no certificate was issued to ${storeId}/${deviceId} by enrolment`);
    return { ok: true, ...r };
  });
};

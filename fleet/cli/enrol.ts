/**
 * `fleet enrol-token --store S --device D [--ttl S]`: a one-time enrolment token for a new mirror
 * (printed once; the service keeps only its hash), and `fleet revoke --store S --device D
 * [--reason R]`: revokes the mirror's certificates, the broker refusing it and cutting it off.
 */
import { z } from 'zod';
import { CliError, type Call } from './client.ts';

const TokenAnswer = z.looseObject({ token: z.string(), expiresAt: z.number(), storeId: z.string(), deviceId: z.string() });
const RevokeAnswer = z.looseObject({ serials: z.array(z.string()), crl: z.boolean(), kicked: z.boolean() });

export interface Said {
  human: string;
  data: unknown;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function device(store: string | undefined, dev: string | undefined): { storeId: string; deviceId: string } {
  if (!store || !ID.test(store)) throw new CliError('--store: a store id (letters, digits, _ and -) is required', 2);
  if (!dev || !ID.test(dev)) throw new CliError('--device: a device id (letters, digits, _ and -) is required', 2);
  return { storeId: store, deviceId: dev };
}

export async function enrolToken(call: Call, o: { store?: string; device?: string; ttl?: string }): Promise<Said> {
  const d = device(o.store, o.device);
  let ttlS: number | undefined;
  if (o.ttl !== undefined) {
    if (!/^\d+$/.test(o.ttl)) throw new CliError(`--ttl: "${o.ttl}" is not a number of seconds`, 2);
    ttlS = Number(o.ttl);
  }
  const r = await call(TokenAnswer, 'POST', '/api/enrol/tokens', { body: { ...d, ...(ttlS === undefined ? {} : { ttlS }) } });
  const until = new Date(r.expiresAt).toISOString();
  return {
    human: `${r.token}\none-time enrolment token for ${r.storeId}/${r.deviceId}, valid until ${until}\non the mirror: mirrorctl enrol --token <token> --fleet <fleet URL>`,
    data: r,
  };
}

export async function revoke(call: Call, o: { store?: string; device?: string; reason?: string }): Promise<Said> {
  const d = device(o.store, o.device);
  const r = await call(RevokeAnswer, 'POST', `/api/devices/${d.storeId}/${d.deviceId}/revoke`, { body: o.reason ? { reason: o.reason } : {} });
  const broker = [r.crl ? 'CRL sent to the broker' : 'no CRL file configured', r.kicked ? 'live connection cut' : 'live connection not cut (enrol.dynsecKick off)'].join('; ');
  return { human: `revoked ${d.storeId}/${d.deviceId}: ${r.serials.length} new certificate(s) revoked; ${broker}`, data: r };
}

/**
 * How every connection the fleet service opens to the broker authenticates (ingest, commands,
 * the revocation kick): the configured credentials and TLS files, certificates always verified.
 * Each caller says only what differs: its client id, session and reconnect policy.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { FleetConfig } from './config.ts';

export type ServiceConnection = Required<Pick<IClientOptions, 'clientId' | 'clean' | 'reconnectPeriod' | 'connectTimeout'>>;

export function serviceClientOptions(cfg: FleetConfig['mqtt'], connection: ServiceConnection): IClientOptions {
  return {
    ...connection,
    username: cfg.username,
    password: cfg.password,
    ...(cfg.caFile ? { ca: readFileSync(cfg.caFile) } : {}),
    ...(cfg.certFile ? { cert: readFileSync(cfg.certFile) } : {}),
    ...(cfg.keyFile ? { key: readFileSync(cfg.keyFile) } : {}),
    rejectUnauthorized: true,
  };
}

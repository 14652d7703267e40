/**
 * Enrolment when the daemon starts (config `mqtt.enrol`): with no valid identity at `mqtt.tls.*`,
 * the token file is exchanged for one before the TLS files are read. A failure (fleet unreachable,
 * token refused) never stops the mirror: it is logged with what to do, the daemon runs, and the
 * broker refuses it until it is enrolled, its telemetry waiting in the outbox meanwhile.
 */
import { readFileSync } from 'node:fs';
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { currentIdentity, enrol, renew, type IdentityFiles } from './enrol.ts';

/** The identity files named by the config, when enrolment is configured. */
export function configuredIdentity(config: MirrorConfig): IdentityFiles | undefined {
  const tls = config.mqtt.tls;
  if (!config.mqtt.enrol || !tls?.cert || !tls.key || !tls.ca) return undefined;
  return { cert: tls.cert, key: tls.key, ca: tls.ca };
}

export async function enrolOnStart(
  config: MirrorConfig,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  timeoutMs = 15_000,
): Promise<'enrolled' | 'already-enrolled' | 'renewed' | 'failed' | 'not-configured'> {
  const files = configuredIdentity(config);
  const e = config.mqtt.enrol;
  if (!files || !e) return 'not-configured';
  if (currentIdentity(files, Date.now())) return renewIfDue(files, e, logger, timeoutMs);
  try {
    const token = readFileSync(e.tokenFile, 'utf8').trim();
    const r = await enrol({ fleetUrl: e.fleetUrl, token, files, timeoutMs });
    logger.info({ identity: r.identity, fleet: e.fleetUrl }, r.status === 'enrolled' ? 'mirror enrolled: certificate stored' : 'mirror already enrolled');
    return r.status;
  } catch (err) {
    logger.error(
      { err: { message: (err as Error).message }, fleet: e.fleetUrl, tokenFile: e.tokenFile },
      'enrolment failed: the mirror runs, its telemetry waits in the outbox; fix the cause, then run `mirrorctl enrol` and restart the daemon',
    );
    return 'failed';
  }
}

/** A valid identity close to expiry is renewed; a failed renewal keeps the current one (still valid) and says so. */
async function renewIfDue(
  files: IdentityFiles,
  e: NonNullable<MirrorConfig['mqtt']['enrol']>,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  timeoutMs: number,
): Promise<'already-enrolled' | 'renewed'> {
  try {
    const r = await renew({ fleetUrl: e.fleetUrl, files, renewBeforeDays: e.renewBeforeDays, timeoutMs });
    if (r.status === 'not-due') return 'already-enrolled';
    logger.info({ identity: r.identity, serial: r.serial, notAfter: new Date(r.notAfter).toISOString() }, 'mirror certificate renewed');
    return 'renewed';
  } catch (err) {
    logger.warn({ err: { message: (err as Error).message }, fleet: e.fleetUrl }, 'certificate renewal failed: the current certificate serves until it expires; retried at next start');
    return 'already-enrolled';
  }
}

/**
 * `mirrorctl enrol`: the technician's way to give a new mirror its identity, no daemon needed.
 *   mirrorctl enrol --token T --fleet URL [--dir DIR]   files in DIR (default /etc/smart-mirror/tls)
 *   mirrorctl enrol --config FILE [--token T]           where the mirror's config points (mqtt.enrol, mqtt.tls)
 * Idempotent: a valid identity already there is kept, and said so.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import { enrol, identityFiles, type EnrolResult, type IdentityFiles } from './enrol.ts';
import { configuredIdentity } from './first-start.ts';

export const ENROL_USAGE = 'mirrorctl enrol --token T --fleet URL [--dir DIR] | mirrorctl enrol --config FILE [--token T]';
export const DEFAULT_IDENTITY_DIR = '/etc/smart-mirror/tls';

export interface EnrolArgs {
  token?: string;
  fleet?: string;
  dir?: string;
  config?: string;
}

export async function runEnrol(a: EnrolArgs): Promise<{ result: EnrolResult; files: IdentityFiles }> {
  let files: IdentityFiles;
  let fleetUrl = a.fleet;
  let token = a.token;
  if (a.config !== undefined) {
    const config = loadConfig({ file: a.config });
    const f = configuredIdentity(config);
    if (!f || !config.mqtt.enrol) throw new Error(`${a.config}: set mqtt.enrol (fleetUrl, tokenFile) and mqtt.tls (ca, cert, key) first`);
    files = f;
    fleetUrl ??= config.mqtt.enrol.fleetUrl;
    token ??= readFileSync(config.mqtt.enrol.tokenFile, 'utf8').trim();
  } else {
    files = identityFiles(a.dir ?? DEFAULT_IDENTITY_DIR);
  }
  if (!token) throw new Error(`--token is required\nusage: ${ENROL_USAGE}`);
  if (!fleetUrl) throw new Error(`--fleet is required\nusage: ${ENROL_USAGE}`);
  return { result: await enrol({ fleetUrl, token, files }), files };
}

export function describeEnrol({ result, files }: { result: EnrolResult; files: IdentityFiles }): string {
  const until = new Date(result.notAfter).toISOString();
  if (result.status === 'already-enrolled') return `already enrolled as ${result.identity} (certificate valid until ${until}); nothing changed`;
  return `enrolled as ${result.identity} (serial ${result.serial}, valid until ${until})\n  key ${files.key}\n  certificate ${files.cert}\n  fleet CA ${files.ca}\nrestart the daemon to connect with it: systemctl restart mirror-daemon`;
}

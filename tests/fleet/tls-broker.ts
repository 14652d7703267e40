/**
 * A Mosquitto with the repository's own fleet/broker/mosquitto.conf and acl (TLS, client
 * certificates, per-device ACL), certificates from fleet/broker/gen-certs.sh, on a free
 * loopback port. Only the paths, the port and persistence are rewritten for the test.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findMosquitto, freePort } from '../../fleet/sim/broker.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');

export interface TlsBroker {
  url: string;
  dir: string;
  /** The broker's process id (SIGHUP makes it reread the CRL). */
  pid: number;
  /** Whether the dynamic-security plugin is loaded (revocation's connection cut needs it). */
  dynsec: boolean;
  /** TLS options for MQTT.js as `{store}/{device}` or `fleet-service`. */
  creds(identity: string): Promise<{ ca: Buffer; cert: Buffer; key: Buffer; servername: string; rejectUnauthorized: true }>;
  files(identity: string): { caFile: string; certFile: string; keyFile: string };
  stop(): Promise<void>;
}

export function tlsBrokerAvailable(): boolean {
  return findMosquitto() !== undefined;
}

const DYNSEC_PLUGIN = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/lib64/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
];
export function findDynsecPlugin(): string | undefined {
  return DYNSEC_PLUGIN.find((p) => existsSync(p));
}

export async function startTlsBroker(devices: string[]): Promise<TlsBroker> {
  const bin = findMosquitto();
  if (!bin) throw new Error('mosquitto not found');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-tls-'));
  await run(path.join(REPO, 'fleet/broker/gen-certs.sh'), [dir, ...devices]);
  await copyFile(path.join(REPO, 'fleet/broker/acl'), path.join(dir, 'acl'));
  await copyFile(path.join(REPO, 'fleet/broker/dynamic-security.json'), path.join(dir, 'dynamic-security.json'));
  const dynsec = findDynsecPlugin();
  const port = await freePort();
  const conf = (await readFile(path.join(REPO, 'fleet/broker/mosquitto.conf'), 'utf8'))
    .replaceAll('/etc/mosquitto/fleet/', `${dir}/`)
    .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`)
    .replace(/^persistence true$/m, 'persistence false')
    .replace(/^persistence_location .*$/m, '')
    .replace(/^log_type notice$/m, '')
    // The plugin's path differs between distributions; without it, revocation cannot cut live connections.
    .replace(/^plugin .*$/m, dynsec ? `plugin ${dynsec}` : '')
    .replace(/^plugin_opt_config_file .*$/m, dynsec ? `plugin_opt_config_file ${dir}/dynamic-security.json` : '');
  // Run as whoever runs the tests (as root, mosquitto would otherwise drop to its own user).
  await writeFile(path.join(dir, 'mosquitto.conf'), `user ${os.userInfo().username}\n${conf}`);
  const child = spawn(bin, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`mosquitto (TLS) exited: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200) throw new Error(`mosquitto (TLS) did not listen: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const files = (identity: string) => {
    const name = identity.replace('/', '__');
    return { caFile: path.join(dir, 'ca.crt'), certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
  };
  return {
    url: `mqtts://127.0.0.1:${port}`,
    dir,
    pid: child.pid!,
    dynsec: dynsec !== undefined,
    files,
    creds: async (identity) => {
      const f = files(identity);
      return { ca: await readFile(f.caFile), cert: await readFile(f.certFile), key: await readFile(f.keyFile), servername: 'localhost', rejectUnauthorized: true };
    },
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The demo broker: with no `MQTT_URL`, `npm start` on one machine is self-contained. The real
 * install runs Mosquitto from its systemd unit instead; this broker exists for the demo only, with
 * limits, because a broker inside the daemon can take the mirror down with it:
 *  - aedes runs in its own process (broker/child.ts), restarted when it dies (broker/supervisor.ts);
 *  - loopback only; at most `maxConnections` clients; packets over `maxPacketBytes` are refused
 *    from their header; each connection may publish `publishPerSecond` (broker/packet-guard.ts);
 *  - no anonymous access: the daemon connects with a password generated per start, the fleet
 *    service as `fleet-service` with the password kept in `{stateDir}/embedded-broker.fleet-secret`
 *    (0600); each may only use its topics, as in the Mosquitto ACL (broker/acl.ts).
 *
 * Retained messages and last wills live in aedes's memory: they go when the broker process goes,
 * and the daemon's reconnect publishes a fresh birth.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import type { DeviceAddress } from '../../fleet/protocol/topics.ts';
import { FLEET_USERNAME, type BrokerUser } from './broker/acl.ts';
import type { BrokerLimits } from './broker/ipc.ts';
import { BrokerStartError, superviseBroker, type BrokerProcess } from './broker/supervisor.ts';
import type { TelemetryLogger } from './logger.ts';

export const DEFAULT_EMBEDDED_BROKER_PORT = 1884;
export const EMBEDDED_BROKER_HOST = '127.0.0.1';
export const FLEET_SECRET_FILE = 'embedded-broker.fleet-secret';

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  // Update chunks are the largest messages (fleet/protocol/update.ts keeps them well under this).
  maxPacketBytes: 256 * 1024,
  maxConnections: 16,
  publishPerSecond: 200,
  publishBurst: 400,
};

export interface EmbeddedBrokerOptions {
  /** TCP port on 127.0.0.1; default 1884. 0 asks for an ephemeral port. */
  port?: number;
  /** The daemon's own identity: its username is "{storeId}/{deviceId}". */
  device: DeviceAddress;
  /** Where the fleet service's password is kept. */
  stateDir: string;
  limits?: Partial<BrokerLimits>;
  /** Heap limit of the broker process; default 256 MiB. */
  maxHeapMb?: number;
  logger?: TelemetryLogger;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface EmbeddedBroker {
  /** `mqtt://127.0.0.1:<port>` (no credentials in it). */
  url: string;
  port: number;
  /** For the daemon's own MQTT client. */
  device: Credentials;
  /** For a fleet service on this machine (also in `fleetSecretFile`). */
  fleet: Credentials;
  fleetSecretFile: string;
  /** False while the broker process is being restarted. */
  readonly running: boolean;
  /** How many times the broker process died and was restarted. */
  readonly restarts: number;
  readonly pid: number | undefined;
  /** Stops the broker process (its clients are disconnected). Idempotent. */
  close(): Promise<void>;
}

const secret = (): string => randomBytes(24).toString('base64url');

/** The fleet password survives restarts so a fleet service configured once keeps working. */
async function fleetSecret(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').then((s) => s.trim(), () => '');
  if (/^[A-Za-z0-9_-]{32,}$/.test(existing)) return existing;
  const fresh = secret();
  await writeFileAtomic(file, `${fresh}\n`);
  await chmod(file, 0o600);
  return fresh;
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const requested = opts.port ?? DEFAULT_EMBEDDED_BROKER_PORT;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new RangeError(`embedded MQTT broker port must be an integer 0..65535, got ${String(requested)}`);
  }
  const log = opts.logger;
  const fleetSecretFile = path.join(opts.stateDir, FLEET_SECRET_FILE);
  const device: Credentials = { username: `${opts.device.storeId}/${opts.device.deviceId}`, password: secret() };
  const fleet: Credentials = { username: FLEET_USERNAME, password: await fleetSecret(fleetSecretFile) };
  const users: BrokerUser[] = [
    { ...device, role: 'device' },
    { ...fleet, role: 'fleet' },
  ];
  const limits = { ...DEFAULT_BROKER_LIMITS, ...opts.limits };
  const start = { type: 'start' as const, host: EMBEDDED_BROKER_HOST, port: requested, users, limits };
  const maxHeapMb = opts.maxHeapMb ?? 256;

  let proc: BrokerProcess;
  try {
    proc = await superviseBroker(start, maxHeapMb, log);
  } catch (err) {
    if (!(err instanceof BrokerStartError && err.code === 'EADDRINUSE' && requested !== 0)) throw err;
    proc = await superviseBroker({ ...start, port: 0 }, maxHeapMb, log);
    log?.warn({ requestedPort: requested, port: proc.port }, `MQTT port ${requested} is in use; the embedded broker listens on ephemeral port ${proc.port} instead`);
  }
  const url = `mqtt://${EMBEDDED_BROKER_HOST}:${proc.port}`;
  log?.info({ url, fleetUsername: fleet.username, fleetSecretFile, limits }, 'embedded MQTT broker (aedes, own process) listening');
  return {
    url,
    port: proc.port,
    device,
    fleet,
    fleetSecretFile,
    get running() {
      return proc.running;
    },
    get restarts() {
      return proc.restarts;
    },
    get pid() {
      return proc.pid;
    },
    async close() {
      await proc.close();
    },
  };
}

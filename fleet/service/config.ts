/**
 * Fleet service configuration: one optional JSON file (`--config FILE` or `FLEET_CONFIG`), every
 * key optional, unknown keys refused; environment variables override the file. A bad value stops
 * start-up with a message naming the key.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_MIN_SESSIONS } from '../protocol/recommendations.ts';
import { AlertsConfigSchema } from './alerts/config.ts';

/** Where `npm run build:dashboard` writes the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));

export const FleetConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.int().min(0).max(65535).default(8090),
    /** SQLite file (the default store). Ignored when `databaseUrl` is set. */
    sqlitePath: z.string().min(1).default('var/fleet/fleet.db'),
    /** PostgreSQL connection string (`DATABASE_URL`); when set, PostgreSQL is the store. */
    databaseUrl: z.string().min(1).optional(),
    /** PostgreSQL schema (created when missing). */
    databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
    /** Where uploaded artifact bundles are kept. */
    artifactDir: z.string().min(1).default('var/fleet/artifacts'),
    /** The built dashboard served at `/` (`FLEET_DASHBOARD_DIR`). */
    dashboardDir: z.string().min(1).default(DEFAULT_DASHBOARD_DIR),
    /** Base URL devices use for HTTP artifact downloads (`transfer: http`). */
    publicUrl: z.url().optional(),
    mqtt: z
      .object({
        url: z.string().min(1).default('mqtt://127.0.0.1:1884'),
        clientId: z.string().min(1).max(64).default('fleet-service'),
        username: z.string().optional(),
        password: z.string().optional(),
        /** PEM files for TLS (mqtts://): CA, and the service's client certificate and key. */
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** Persistent session: the broker queues QoS 1 messages while the service restarts. */
        cleanSession: z.boolean().default(false),
        /**
         * Several instances split the ingest through MQTT shared subscriptions in this group
         * (`MQTT_SHARE_GROUP`); each instance needs its own `clientId` (`MQTT_CLIENT_ID`).
         */
        shareGroup: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'letters, digits, _ and - only (no / + #)' }).optional(),
      })
      .strict()
      .default({ url: 'mqtt://127.0.0.1:1884', clientId: 'fleet-service', cleanSession: false }),
    /** Ed25519 public keys that may sign artifacts: keyId → PEM (SPKI) or base64 of the raw 32 bytes. */
    trustedKeys: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.string().min(1)).default({}),
    /** A JSON file of more trusted keys in the same shape (`FLEET_TRUSTED_KEYS_FILE`). */
    trustedKeysFile: z.string().optional(),
    /** `user:password`: creates an admin when the user table is empty (`FLEET_BOOTSTRAP_ADMIN`). */
    bootstrapAdmin: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}:.{8,}$/, { error: 'must be user:password (password 8+ chars)' }).optional(),
    tokenTtlS: z.int().min(60).max(30 * 86_400).default(12 * 3600),
    /** Secret for HTTP download URLs (HMAC); random per start when unset. */
    downloadSecret: z.string().min(16).optional(),
    rollouts: z
      .object({
        /** A job with no progress for this long is timed out (and counts as a failure). */
        stuckTimeoutS: z.number().positive().default(600),
        /** How often the engine looks for stuck jobs and finished waves. */
        tickMs: z.int().min(10).default(1000),
        /**
         * With several instances on one database, one holds the rollout lease and ticks; it renews
         * the lease every tick, and another instance takes over this long after the holder died.
         */
        leaseTtlMs: z.int().min(100).default(10_000),
        failureThreshold: z.number().min(0).max(1).default(0.05),
        minDevicesDone: z.int().min(1).default(10),
        waveGrowth: z.number().min(1).max(10).default(2),
        watchSeconds: z.int().min(1).default(60),
      })
      .strict()
      .refine((r) => r.leaseTtlMs >= 2 * r.tickMs, { path: ['leaseTtlMs'], error: 'must be at least twice tickMs (the holder renews it every tick)' })
      .default({ stuckTimeoutS: 600, tickMs: 1000, leaseTtlMs: 10_000, failureThreshold: 0.05, minDevicesDone: 10, waveGrowth: 2, watchSeconds: 60 }),
    ingest: z
      .object({
        /**
         * How long one message is retried in place while the store fails before the service lets
         * the broker redeliver it (reconnect); below MQTT's keep-alive, which stalls meanwhile.
         */
        retryHoldMs: z.int().min(50).max(30_000).default(10_000),
        /** Attempts of one message that fail while the store answers other queries: then it is dead-lettered. */
        maxAttempts: z.int().min(1).max(100).default(5),
        /** Health turns degraded when a message has waited this long without anything being acknowledged. */
        stuckAfterS: z.number().positive().default(60),
      })
      .strict()
      .default({ retryHoldMs: 10_000, maxAttempts: 5, stuckAfterS: 60 }),
    /**
     * Fleet → mirror commands (fleet/service/commands): the service signs each with this Ed25519
     * key (PKCS#8 PEM file, `FLEET_COMMAND_KEY_FILE`); mirrors pin its public key under `keyId`
     * (mirror config `commands.publicKeys`). Unset: the command API answers 409.
     */
    commands: z
      .object({
        keyId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('fleet-commands'),
        privateKeyFile: z.string().min(1).optional(),
        /** A command not run within this is refused by the mirror as expired (at most 600 s: the mirror's replay memory). */
        ttlS: z.int().min(5).max(600).default(120),
        /** How long the API (and `fleet cmd`) waits for the result by default. */
        waitS: z.int().min(1).max(120).default(30),
      })
      .strict()
      .default({ keyId: 'fleet-commands', ttlS: 120, waitS: 30 }),
    /** Login throttling (login-limiter.ts): failures per user and per address in a window, then a lockout. */
    login: z
      .object({
        maxFailures: z.int().min(1).default(5),
        maxFailuresPerIp: z.int().min(1).default(20),
        windowMs: z.int().min(1000).default(15 * 60_000),
        lockoutMs: z.int().min(1000).default(15 * 60_000),
        maxKeys: z.int().min(100).default(10_000),
      })
      .strict()
      .default({ maxFailures: 5, maxFailuresPerIp: 20, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000, maxKeys: 10_000 }),
    /** Recommendations from shopper behaviour (fleet/service/recommendations): k-anonymity and window. */
    recommendations: z
      .object({
        /** A tone band x undertone bucket is published only with at least this many sessions (k). */
        minSessions: z.int().min(2).default(DEFAULT_MIN_SESSIONS),
        windowDays: z.int().min(1).max(183).default(28),
      })
      .strict()
      .default({ minSessions: DEFAULT_MIN_SESSIONS, windowDays: 28 }),
    /** Alert rules, hold-down and sinks (alerts/config.ts). */
    alerts: AlertsConfigSchema.prefault({}),
    /**
     * Device enrolment (fleet/service/enrol): off unless `caCertFile` and `caKeyFile` are set. The
     * fleet CA (created there when neither file exists; the key must be mode 0600), how long tokens
     * and certificates live, and how a revocation reaches the broker: the CRL file it reads
     * (`crlfile`), the command that makes it reread it (e.g. `["systemctl","reload","mosquitto"]`),
     * and whether to cut the revoked device's live connection through Mosquitto's
     * dynamic-security plugin (fleet/broker/mosquitto.conf explains why both are needed).
     */
    enrol: z
      .object({
        caCertFile: z.string().min(1),
        caKeyFile: z.string().min(1),
        crlFile: z.string().min(1).optional(),
        reloadCommand: z.array(z.string().min(1)).min(1).optional(),
        dynsecKick: z.boolean().default(false),
        tokenTtlS: z.int().min(60).max(30 * 86_400).default(7 * 86_400),
        certDays: z.int().min(1).max(3650).default(365),
        /** The CRL's nextUpdate; the service re-signs it daily, far before it lapses (a lapsed CRL locks every client out). */
        crlDays: z.int().min(2).max(365).default(30),
        /** Enrolment attempts per client address per minute (the endpoint needs no login). */
        maxAttemptsPerMinute: z.int().min(1).max(10_000).default(10),
      })
      .strict()
      .optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type FleetConfig = z.infer<typeof FleetConfigSchema>;
export type FleetConfigInput = z.input<typeof FleetConfigSchema>;

export class FleetConfigError extends Error {
  readonly code = 'FLEET_ERR_CONFIG';
}

export function parseFleetConfig(input: unknown): FleetConfig {
  const r = FleetConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = i.path.length ? i.path.map(String).join('.') : '(root)';
    throw new FleetConfigError(`fleet config key "${key}": ${i.message}`);
  }
  const cfg = r.data;
  if (cfg.trustedKeysFile !== undefined) {
    let extra: unknown;
    try {
      extra = JSON.parse(readFileSync(cfg.trustedKeysFile, 'utf8'));
    } catch (err) {
      throw new FleetConfigError(`fleet config key "trustedKeysFile": ${(err as Error).message}`);
    }
    const keys = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.string().min(1)).safeParse(extra);
    if (!keys.success) throw new FleetConfigError('fleet config key "trustedKeysFile": must be a JSON object keyId → public key');
    cfg.trustedKeys = { ...keys.data, ...cfg.trustedKeys };
  }
  return cfg;
}

/** File (if any) + environment. */
export function loadFleetConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : env.FLEET_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new FleetConfigError(`fleet config file ${file}: ${(err as Error).message}`);
    }
  }
  const mqtt = { ...((raw.mqtt as Record<string, unknown>) ?? {}) };
  const set = (obj: Record<string, unknown>, key: string, v: unknown) => {
    if (v !== undefined && v !== '') obj[key] = v;
  };
  set(raw, 'host', env.FLEET_HOST);
  set(raw, 'port', env.FLEET_PORT === undefined ? undefined : Number(env.FLEET_PORT));
  set(raw, 'sqlitePath', env.FLEET_SQLITE_PATH);
  set(raw, 'databaseUrl', env.DATABASE_URL);
  set(raw, 'artifactDir', env.FLEET_ARTIFACT_DIR);
  set(raw, 'publicUrl', env.FLEET_PUBLIC_URL);
  set(raw, 'dashboardDir', env.FLEET_DASHBOARD_DIR);
  set(raw, 'trustedKeysFile', env.FLEET_TRUSTED_KEYS_FILE);
  set(raw, 'bootstrapAdmin', env.FLEET_BOOTSTRAP_ADMIN);
  set(raw, 'downloadSecret', env.FLEET_DOWNLOAD_SECRET);
  set(raw, 'logLevel', env.LOG_LEVEL);
  if (env.FLEET_COMMAND_KEY_FILE) raw.commands = { ...((raw.commands as Record<string, unknown>) ?? {}), privateKeyFile: env.FLEET_COMMAND_KEY_FILE };
  set(mqtt, 'url', env.MQTT_URL);
  set(mqtt, 'clientId', env.MQTT_CLIENT_ID);
  set(mqtt, 'shareGroup', env.MQTT_SHARE_GROUP);
  set(mqtt, 'username', env.MQTT_USERNAME);
  set(mqtt, 'password', env.MQTT_PASSWORD);
  set(mqtt, 'caFile', env.MQTT_CA_FILE);
  set(mqtt, 'certFile', env.MQTT_CERT_FILE);
  set(mqtt, 'keyFile', env.MQTT_KEY_FILE);
  if (Object.keys(mqtt).length) raw.mqtt = mqtt;
  return parseFleetConfig(raw);
}

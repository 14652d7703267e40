/**
 * The fleet service, assembled: store → artifact store → rollout engine → MQTT ingest → alerts
 * (engine + sinks) → HTTP API. `createFleetService` starts it; `close()` stops it in reverse
 * (HTTP, engines, sinks, MQTT, store).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { AlertEngine } from './alerts/engine.ts';
import { Notifier } from './alerts/notifier.ts';
import { alertRoutes } from './alerts/routes.ts';
import { configuredSinks } from './alerts/sinks.ts';
import { registerApi } from './api.ts';
import { Auth, hashPassword } from './auth.ts';
import { Enrolment } from './enrol/enrolment.ts';
import { enrolRoutes } from './enrol/routes.ts';
import { parseFleetConfig, type FleetConfig, type FleetConfigInput } from './config.ts';
import { Ingest } from './ingest.ts';
import { Lease } from './lease.ts';
import { CommandService, loadCommandKey } from './commands/service.ts';
import { ArtifactStore, loadTrustedKeys } from './rollouts/artifacts.ts';
import { RolloutEngine } from './rollouts/engine.ts';
import type { FleetStore } from './store/fleet-store.ts';
import { openFleetStore } from './store/open.ts';

export interface FleetService {
  config: FleetConfig;
  app: FastifyInstance;
  store: FleetStore;
  engine: RolloutEngine;
  ingest: Ingest;
  commands: CommandService;
  alerts: AlertEngine;
  notifier: Notifier;
  /** Device enrolment (undefined when config `enrol` is unset). */
  enrolment: Enrolment | undefined;
  /** `http://host:port` the API listens on. */
  url: string;
  close(): Promise<void>;
}

export interface CreateOptions {
  now?: () => number;
  /** Skip MQTT (API-only tests). */
  mqtt?: boolean;
}

export async function createFleetService(input: FleetConfigInput | FleetConfig, opts: CreateOptions = {}): Promise<FleetService> {
  const config = parseFleetConfig(input);
  const now = opts.now ?? Date.now;
  const trusted = loadTrustedKeys(config.trustedKeys);
  const commandKey = loadCommandKey(config.commands);
  const app = Fastify({
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-artifact"]'] },
    bodyLimit: 1024 * 1024,
  });
  const log = app.log;
  const store = await openFleetStore(config);
  log.info({ store: store.describe, trustedKeys: [...trusted.keys()] }, 'fleet store open');

  if (config.bootstrapAdmin && (await store.users.userCount()) === 0) {
    const i = config.bootstrapAdmin.indexOf(':');
    const username = config.bootstrapAdmin.slice(0, i);
    await store.users.createUser(
      { username, role: 'admin', storeId: null, passwordHash: await hashPassword(config.bootstrapAdmin.slice(i + 1)), createdBy: 'bootstrap' },
      now(),
    );
    await store.auditLog.audit('bootstrap', 'user.add', username, { role: 'admin' }, now());
    log.info({ username }, 'bootstrap admin created');
  }

  const artifacts = new ArtifactStore(store, config.artifactDir, trusted);
  let ingest!: Ingest;
  const engine = new RolloutEngine({
    store,
    artifacts,
    publish: (topic, payload) => ingest.publish(topic, payload),
    log,
    config: config.rollouts,
    publicUrl: config.publicUrl,
    downloadSecret: config.downloadSecret ?? randomBytes(32).toString('hex'),
    now,
    // One instance of several ticks the waves: the holder of this lease (id: its MQTT client id, host and pid).
    lease: new Lease(store.leases, 'rollouts', `${config.mqtt.clientId}@${os.hostname()}:${process.pid}`, config.rollouts.leaseTtlMs, now, log),
  });
  ingest = new Ingest(store, engine, log, now, { holdMs: config.ingest.retryHoldMs, maxAttempts: config.ingest.maxAttempts });
  const commands = new CommandService(store, config.commands, commandKey, log, now);
  const notifier = new Notifier(configuredSinks(config.alerts), now, log);
  const alerts = new AlertEngine({ store, ingest, notifier, config: config.alerts, instance: config.mqtt.clientId, log, now });
  const auth = new Auth(store, config.tokenTtlS);
  const apiDeps = {
    store,
    auth,
    ingest,
    engine,
    commands,
    artifacts,
    now,
    stuckAfterMs: config.ingest.stuckAfterS * 1000,
    mqtt: opts.mqtt !== false,
    loginLimits: config.login,
    dashboardDir: config.dashboardDir,
    recommendations: config.recommendations,
  };
  registerApi(app, apiDeps);
  app.register(alertRoutes, { ...apiDeps, alerts, notifier });
  // A CA that cannot be used is a config error (exit 78); the store opened above is closed first.
  const enrolment = config.enrol
    ? await Enrolment.open(store, config.enrol, config.mqtt, log, now).catch(async (err: unknown) => {
        await store.close().catch(() => undefined);
        throw err;
      })
    : undefined;
  app.register(enrolRoutes, { enrolment, maxAttemptsPerMinute: config.enrol?.maxAttemptsPerMinute ?? 10, now });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close().catch(() => undefined);
    enrolment?.close();
    await engine.stop();
    alerts.stop();
    notifier.close();
    await ingest.close().catch(() => undefined);
    await commands.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  };
  try {
    if (opts.mqtt !== false) await ingest.connect(config.mqtt);
    // Its own connection only when it can sign: without a key there is nothing to send or await.
    if (opts.mqtt !== false && commandKey !== undefined) await commands.connect(config.mqtt);
    engine.start();
    alerts.start();
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await close();
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { config, app, store, engine, ingest, commands, alerts, notifier, enrolment, url: `http://${host}:${addr.port}`, close };
}

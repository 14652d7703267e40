/**
 * The one place that knows every stage: starts them in data-flow order, stops them in reverse.
 * source → vision → try-on → overlay → transport, with telemetry beside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { MirrorConfig } from './config/schema.ts';
import { LatestFrameSlot } from './core/flow-limiter.ts';
import { nowMs } from './core/frame.ts';
import { PipelineStats } from './core/pipeline-stats.ts';
import { createTryOnStage } from './tryon/tryon-stage.ts';
import { createFaceStage } from './vision/face-stage.ts';
import { createJpegEncoder } from './overlay/jpeg-encoder.ts';
import { Pipeline } from './pipeline.ts';
import { createSource, resolveSourceSpec } from './source/index.ts';
import type { FrameSource } from './source/source.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './telemetry/embedded-broker.ts';
import { createTelemetryAgent, type TelemetryAgent } from './telemetry/mqtt-agent.ts';
import { startKioskServer, type KioskServer } from './transport/kiosk-server.ts';
import { Outbox, OUTBOX_FILE } from './telemetry/outbox.ts';
import { createEventPublisher, SessionTracker } from './telemetry/events.ts';
import { createUpdateAgent, prepareUpdateBoot, type UpdateAgent } from './update/agent.ts';
import { createFaceMeshHost, MESH_MODEL } from './update/model-host.ts';
import { createCatalogHost, goldenFacesFromRuntime, loadCommittedCatalog } from './update/catalog-host.ts';
import { CATALOG_NAME, CatalogSlot } from './tryon/catalog.ts';
import { UpdateStore, type ServingModel } from './update/store.ts';
import { parsePublicKey } from './update/verify.ts';
import { MirrorError } from './core/errors.ts';
import { resolveModel } from '../models/registry.ts';
import { eventsTopic, parseTopic, updateTopic } from '../fleet/protocol/topics.ts';
import type { KeyObject } from 'node:crypto';
import type { PipelineStats as StatsMessage } from './transport/events.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIRMWARE_VERSION = '0.1.0';

export interface Daemon {
  readonly kioskPort: number;
  /** Seconds since the last emitted frame; the systemd watchdog is only fed while frames flow. */
  lastFrameAgeMs(): number | null;
  stop(): Promise<void>;
}

export async function startDaemon(config: MirrorConfig, logger: Logger): Promise<Daemon> {
  const startedAt = nowMs();
  const stopSteps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  const stopAll = async () => {
    for (const step of stopSteps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        logger.error({ step: step.name, err: (err as Error).message }, 'stop step failed');
      }
    }
  };

  try {
    const stateDir = path.resolve(config.stateDir);
    // Pinned update keys are checked before anything starts: a bad key is a config error.
    const publicKeys = new Map<string, KeyObject>();
    for (const [keyId, text] of Object.entries(config.updates.publicKeys)) {
      try {
        publicKeys.set(keyId, parsePublicKey(text));
      } catch (err) {
        throw new MirrorError('MIRROR_ERR_CONFIG', `config key "updates.publicKeys.${keyId}": ${(err as Error).message}`);
      }
    }
    // MQTT TLS files are read before anything starts too: an unreadable one is a config error.
    const mqttTls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    for (const [name, file] of Object.entries(config.mqtt.tls ?? {}) as Array<['ca' | 'cert' | 'key', string | undefined]>) {
      if (file === undefined) continue;
      try {
        mqttTls[name] = readFileSync(file);
      } catch (err) {
        throw new MirrorError('MIRROR_ERR_CONFIG', `config key "mqtt.tls.${name}": cannot read ${file}: ${(err as Error).message}`);
      }
    }
    // Updates: a job interrupted after its switch is rolled back on disk before any model loads,
    // so the mesh served is always the last committed one (or the bundled one).
    const updateStore = new UpdateStore(stateDir);
    const committedMesh = await prepareUpdateBoot(updateStore, MESH_MODEL, logger).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'update: boot check failed; serving the bundled model');
      return null;
    });
    // The product catalog the same way: the last committed one (or the bundled one) serves.
    const committedCatalog = await prepareUpdateBoot(updateStore, CATALOG_NAME, logger).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'update: boot check failed; serving the bundled catalog');
      return null;
    });
    const catalogBoot = await loadCommittedCatalog(committedCatalog, logger);
    const catalogSlot = new CatalogSlot(catalogBoot.serving);
    logger.info({ ...catalogSlot.summary() }, 'catalog loaded');
    if (config.tryon.lipstick) {
      logger.warn({ productId: config.tryon.lipstick.productId }, 'tryon.lipstick pins the rendered shade: the catalog default (and catalog updates) are not rendered');
    }

    // Vision: models are verified against their manifests before any runtime sees them.
    const vision = await createFaceStage(
      config.vision,
      logger,
      {
        stateDir: path.resolve(config.stateDir),
        ...(committedMesh?.dir ? { mesh: () => resolveModel(MESH_MODEL, path.join(committedMesh.dir!, 'manifests')) } : {}),
      },
    );
    stopSteps.push({ name: 'models', run: () => vision.dispose() });
    const servingMesh: ServingModel =
      committedMesh?.dir && vision.modelVersions[MESH_MODEL] === committedMesh.version
        ? committedMesh
        : { version: vision.modelVersions[MESH_MODEL] ?? 'unknown', dir: null };
    const { tracker, runtime, backends, modelVersions } = vision;
    logger.info({ backends, models: modelVersions }, 'models loaded');
    /** Versions reported to the fleet: the models, and the serving catalog under "catalog". */
    const servingVersions = (): Record<string, string> => ({ ...modelVersions, [CATALOG_NAME]: catalogSlot.current.catalog.version });

    const slot = new LatestFrameSlot();
    const stats = new PipelineStats({ dropped: () => slot.dropped });
    const sourceSpec = resolveSourceSpec(config.source);
    let source: FrameSource | null = null;
    let mqttState: { url: string; embedded: boolean; connected: () => boolean } | null = null;
    let updateAgent: UpdateAgent | null = null;
    let sessions: SessionTracker | null = null;
    let outbox: Outbox | null = null;

    const health = () => {
      const now = nowMs();
      const snap = stats.snapshot(now);
      const frameAge = snap.lastFrameAgeMs;
      return {
        // starting: no frame yet (models being timed, source opening); degraded: frames stopped.
        status: frameAge === null ? 'starting' : frameAge < 2000 ? 'ok' : 'degraded',
        uptimeS: Math.round((now - startedAt) / 1000),
        fps: snap.fps,
        lastFrameAgeMs: frameAge,
        latencyP50Ms: snap.latencyP50Ms,
        latencyP95Ms: snap.latencyP95Ms,
        paintLatencyP95Ms: snap.paintLatencyP95Ms,
        droppedFrames: snap.droppedFrames,
        // Frames a kiosk client did not get because it had not yet received the previous one.
        kioskSkippedFrames: kiosk.skippedFrames,
        processedFrames: snap.processedFrames,
        stageErrors: snap.stageErrors,
        backends,
        backendChoices: vision.choices(),
        models: servingVersions(),
        catalog: catalogSlot.summary(),
        source: { spec: sourceSpec, description: source?.description ?? null, ...source?.health() },
        mqtt: mqttState && { url: mqttState.url, embedded: mqttState.embedded, connected: mqttState.connected() },
        liveTensors: runtime.liveTensors(),
        update: updateAgent?.status() ?? null,
        outbox: outbox?.stats() ?? null,
        sessions: sessions?.snapshot() ?? null,
        firmwareVersion: FIRMWARE_VERSION,
      };
    };

    // Transport first so the kiosk can connect while the source spins up.
    const kiosk: KioskServer = await startKioskServer({
      host: config.host,
      port: config.port,
      uiDir: path.join(repoRoot, 'ui', 'dist'),
      health,
      onPainted: (msg) => {
        const capturedAt = capturedAtById.get(msg.id);
        if (capturedAt !== undefined) stats.recordPaint(capturedAt, msg.paintedAt);
      },
      logger,
    });
    stopSteps.push({ name: 'kiosk server', run: () => kiosk.close() });
    logger.info({ host: config.host, port: kiosk.port, url: `http://${config.host}:${kiosk.port}/` }, 'kiosk listening');

    // Capture times of recent frames, so the kiosk's "painted" acks give capture-to-paint latency.
    const capturedAtById = new Map<number, number>();
    const tryOn = createTryOnStage(config.tryon, catalogSlot);
    const encode = createJpegEncoder(config.encode.quality);
    const pipeline = new Pipeline(
      slot,
      {
        vision: (frame) => tracker.process(frame),
        tryOn,
        encode,
        emit: (message) => {
          capturedAtById.set(message.id, message.capturedAt);
          sessions?.observe(message.faces.length, message.applied, Date.now());
          if (capturedAtById.size > 120) capturedAtById.delete(capturedAtById.keys().next().value!);
          kiosk.emitFrame(message);
        },
      },
      stats,
      logger,
    );

    const statsMessage = (): StatsMessage => {
      const snap = stats.snapshot(nowMs());
      return {
        fps: snap.fps,
        latencyP50Ms: snap.latencyP50Ms,
        latencyP95Ms: snap.latencyP95Ms,
        droppedFrames: snap.droppedFrames,
        processedFrames: snap.processedFrames,
        backends,
        source: source?.description ?? sourceSpec,
      };
    };
    const statsTimer = setInterval(() => kiosk.emitStats(statsMessage()), 1000);
    stopSteps.push({ name: 'stats timer', run: () => clearInterval(statsTimer) });

    // Telemetry: an embedded broker keeps the one-machine demo self-contained.
    let brokerUrl = config.mqtt.url;
    if (!brokerUrl) {
      const broker: EmbeddedBroker = await startEmbeddedBroker({ port: config.mqtt.embeddedPort, logger });
      stopSteps.push({ name: 'embedded broker', run: () => broker.close() });
      brokerUrl = broker.url;
    }
    const addr = { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId };
    outbox = new Outbox({ file: path.join(stateDir, OUTBOX_FILE), maxBytes: config.outbox.maxBytes, logger });
    const openOutbox = outbox;
    stopSteps.push({ name: 'outbox', run: () => openOutbox.close() });
    const agent: TelemetryAgent = createTelemetryAgent({
      url: brokerUrl,
      storeId: config.mqtt.storeId,
      deviceId: config.mqtt.deviceId,
      firmwareVersion: FIRMWARE_VERSION,
      intervalMs: config.mqtt.metricsIntervalMs,
      stateDir: path.resolve(config.stateDir),
      // The broker ACL knows a mirror as "{storeId}/{deviceId}" (its certificate CN, or its username
      // on the password listener): with a password and no username, that is the username.
      username: config.mqtt.username ?? (config.mqtt.password === undefined ? undefined : `${addr.storeId}/${addr.deviceId}`),
      password: config.mqtt.password,
      ...mqttTls,
      snapshot: () => {
        const u = updateAgent?.status();
        const s = sessions?.snapshot();
        return {
          ...statsMessage(),
          models: servingVersions(),
          ...(u ? { update: u } : {}),
          ...(s ? { sessions: { started: s.sessions, productsTried: s.productsTried, looksSaved: s.looksSaved } } : {}),
        };
      },
      outbox,
      // Exactly the fleet → device update topics the broker ACL lets a mirror read (not update/#,
      // which also covers this mirror's own request/state topics that it may only write).
      subscriptions: (['offer', 'chunk', 'cancel'] as const).map((sub) => updateTopic(addr, sub)),
      onMessage: (topic, payload) => {
        const t = parseTopic(topic);
        if (t.ok && t.value.channel === 'update' && t.value.subtopic.length === 1) updateAgent?.handleMessage(t.value.subtopic[0], payload);
      },
      onConnect: () => updateAgent?.onConnect(),
      // Leaves room in the 3 s stop budget for the source, pipeline and servers.
      stopTimeoutMs: 1000,
      logger,
    });
    mqttState = { url: brokerUrl, embedded: !config.mqtt.url, connected: () => agent.connected };
    await agent.start();
    stopSteps.push({ name: 'telemetry', run: () => agent.stop() });

    // Model updates over the same connection; state reports go through the outbox.
    const host = createFaceMeshHost({
      vision,
      serving: servingMesh,
      latencyBudgetMs: config.updates.smokeLatencyBudgetMs,
      detectorMinScore: config.vision.detectorMinScore,
      meshMinScore: config.vision.meshMinScore,
      health: () => {
        const snap = stats.snapshot(nowMs());
        return { processedFrames: snap.processedFrames, stageErrors: snap.stageErrors, fps: snap.fps };
      },
      logger,
    });
    const catalogHost = createCatalogHost({
      slot: catalogSlot,
      serving: catalogBoot.model,
      goldenFaces: () => goldenFacesFromRuntime(runtime, { detectorMinScore: config.vision.detectorMinScore, meshMinScore: config.vision.meshMinScore }),
      health: host.health,
      logger,
    });
    const updates = createUpdateAgent({
      store: updateStore,
      host,
      catalogHost,
      address: addr,
      publicKeys,
      transport: agent,
      logger,
      chunkTimeoutMs: config.updates.chunkTimeoutMs,
      minFpsRatio: config.updates.minFpsRatio,
      maxStageErrorRatio: config.updates.maxStageErrorRatio,
    });
    updateAgent = updates;
    stopSteps.push({
      name: 'updates',
      run: async () => {
        await updates.stop();
        host.dispose();
      },
    });
    void updates.start();

    // Shopper sessions: events are queued durably and reach the fleet whenever the broker is up.
    const eventTopic = eventsTopic(addr);
    const sessionTracker = new SessionTracker({
      idleTimeoutMs: config.session.idleTimeoutMs,
      sink: createEventPublisher({ deviceId: addr.deviceId, send: (payload) => agent.enqueue('event', eventTopic, payload), logger }),
    });
    sessions = sessionTracker;
    const sessionTimer = setInterval(() => sessionTracker.tick(Date.now()), 1000);
    sessionTimer.unref();
    stopSteps.push({
      name: 'sessions',
      run: () => {
        clearInterval(sessionTimer);
        sessionTracker.stop();
      },
    });

    // Source last: frames flow only once every consumer is ready; it stops first.
    source = createSource(config.source, config.capture, logger);
    pipeline.start();
    stopSteps.push({
      name: 'pipeline',
      run: async () => {
        slot.close();
        await pipeline.stopped();
      },
    });
    await source.start((frame) => slot.offer(frame));
    const runningSource = source;
    stopSteps.push({ name: 'source', run: () => runningSource.stop() });
    logger.info({ source: source.description }, 'pipeline running');

    return {
      kioskPort: kiosk.port,
      lastFrameAgeMs: () => stats.snapshot(nowMs()).lastFrameAgeMs,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

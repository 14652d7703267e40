/**
 * Telemetry as the daemon starts it: the embedded broker when no broker is configured (the
 * one-machine demo), the durable outbox, and the MQTT agent that also carries update messages.
 */
import path from 'node:path';
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { startEmbeddedBroker } from '../telemetry/embedded-broker.ts';
import { createTelemetryAgent, type MetricsSnapshot, type TelemetryAgent } from '../telemetry/mqtt-agent.ts';
import { Outbox, OUTBOX_FILE } from '../telemetry/outbox.ts';
import { channelFilter, parseTopic, updateTopic } from '../../fleet/protocol/topics.ts';
import type { StartupKeys } from './secrets.ts';
import type { StopSteps } from './stop-steps.ts';

export interface StartedTelemetry {
  agent: TelemetryAgent;
  outbox: Outbox;
  /** The broker in use (credentials included: redact before echoing it). */
  brokerUrl: string;
  embedded: boolean;
}

export interface TelemetryWiring {
  firmwareVersion: string;
  snapshot: () => MetricsSnapshot;
  /** An update topic message (offer, chunk, cancel) for the update agent. */
  onUpdateMessage: (subtopic: string, payload: Buffer) => void;
  /** A command (`cmd/{name}`) for the command agent. */
  onCommand: (subtopic: string, payload: Buffer) => void;
  onConnect: () => void;
}

export async function startTelemetry(
  config: MirrorConfig,
  keys: StartupKeys,
  wiring: TelemetryWiring,
  stops: StopSteps,
  logger: Logger,
): Promise<StartedTelemetry> {
  const stateDir = path.resolve(config.stateDir);
  const addr = { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId };
  let brokerUrl = config.mqtt.url;
  // The broker ACL knows a mirror as "{storeId}/{deviceId}" (its certificate CN, or its username
  // on the password listener): with a password and no username, that is the username.
  let login = {
    username: config.mqtt.username ?? (config.mqtt.password === undefined ? undefined : `${addr.storeId}/${addr.deviceId}`),
    password: config.mqtt.password,
  };
  if (!brokerUrl) {
    const broker = await startEmbeddedBroker({ port: config.mqtt.embeddedPort, device: addr, stateDir, logger });
    stops.add('embedded broker', () => broker.close());
    brokerUrl = broker.url;
    login = broker.device;
  }
  const outbox = new Outbox({ file: path.join(stateDir, OUTBOX_FILE), maxBytes: config.outbox.maxBytes, logger });
  stops.add('outbox', () => outbox.close());
  const agent = createTelemetryAgent({
    url: brokerUrl,
    ...addr,
    firmwareVersion: wiring.firmwareVersion,
    intervalMs: config.mqtt.metricsIntervalMs,
    stateDir,
    ...login,
    ...keys.mqttTls,
    snapshot: wiring.snapshot,
    outbox,
    // Exactly the fleet → device update topics the broker ACL lets a mirror read (not update/#,
    // which also covers this mirror's own request/state topics that it may only write).
    // Plus this mirror's own commands, cmd/# (read-only for it in the ACL).
    subscriptions: [...(['offer', 'chunk', 'cancel'] as const).map((sub) => updateTopic(addr, sub)), channelFilter('cmd', addr)],
    onMessage: (topic, payload) => {
      const t = parseTopic(topic);
      if (!t.ok || t.value.subtopic.length !== 1) return;
      if (t.value.channel === 'update') wiring.onUpdateMessage(t.value.subtopic[0], payload);
      else if (t.value.channel === 'cmd') wiring.onCommand(t.value.subtopic[0], payload);
    },
    onConnect: wiring.onConnect,
    // Leaves room in the 3 s stop budget for the source, pipeline and servers.
    stopTimeoutMs: 1000,
    logger,
  });
  await agent.start();
  stops.add('telemetry', () => agent.stop());
  return { agent, outbox, brokerUrl, embedded: !config.mqtt.url };
}

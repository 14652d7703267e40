/** Shopper sessions: events are queued durably and reach the fleet whenever the broker is up. */
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { createEventPublisher, SessionTracker } from '../telemetry/events.ts';
import type { TelemetryAgent } from '../telemetry/mqtt-agent.ts';
import { eventsTopic } from '../../fleet/protocol/topics.ts';
import type { StopSteps } from './stop-steps.ts';

export function startSessions(config: MirrorConfig, agent: TelemetryAgent, stops: StopSteps, logger: Logger): SessionTracker {
  const addr = { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId };
  const topic = eventsTopic(addr);
  const sessions = new SessionTracker({
    idleTimeoutMs: config.session.idleTimeoutMs,
    sink: createEventPublisher({ deviceId: addr.deviceId, send: (payload) => agent.enqueue('event', topic, payload), logger }),
  });
  // The idle timeout also ends a session while no frame arrives (camera lost).
  const timer = setInterval(() => sessions.tick(Date.now()), 1000);
  timer.unref();
  stops.add('sessions', () => {
    clearInterval(timer);
    sessions.stop();
  });
  return sessions;
}

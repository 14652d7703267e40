/** Shopper sessions: events are queued durably and reach the fleet whenever the broker is up. */
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { createEventPublisher, SessionTracker, type EventSink } from '../telemetry/events.ts';
import type { TelemetryAgent } from '../telemetry/mqtt-agent.ts';
import { eventsTopic } from '../../fleet/protocol/topics.ts';
import type { StopSteps } from './stop-steps.ts';

/** Events that may carry the shopper's tone band and undertone (only when the retailer enabled it: daemon/advisor.ts). */
const TONE_TAGGED = new Set(['product.tried', 'look.saved']);

export function startSessions(
  config: MirrorConfig,
  agent: TelemetryAgent,
  stops: StopSteps,
  logger: Logger,
  /** Extra flat keys for product.tried and look.saved, or null (the advisor's toneTags). */
  toneTags: () => Record<string, string> | null = () => null,
): SessionTracker {
  const addr = { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId };
  const topic = eventsTopic(addr);
  const publisher = createEventPublisher({ deviceId: addr.deviceId, send: (payload) => agent.enqueue('event', topic, payload), logger });
  const sink: EventSink = {
    emit: (type, data) => publisher.emit(type, TONE_TAGGED.has(type) ? { ...data, ...toneTags() } : data),
  };
  const sessions = new SessionTracker({ idleTimeoutMs: config.session.idleTimeoutMs, sink });
  // The idle timeout also ends a session while no frame arrives (camera lost).
  const timer = setInterval(() => sessions.tick(Date.now()), 1000);
  timer.unref();
  stops.add('sessions', () => {
    clearInterval(timer);
    sessions.stop();
  });
  return sessions;
}

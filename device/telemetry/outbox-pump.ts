/**
 * Drains the on-disk outbox over the current connection: records in id order, at most `window`
 * sent and not yet acknowledged. A record is deleted on its PUBACK (QoS 1), whichever connection
 * sent it; a new connection starts again from the oldest record not yet acknowledged, so delivery
 * is at-least-once and every payload's `msgId` makes redelivery harmless.
 */
import type { MqttClient } from 'mqtt';
import { errorFields, type TelemetryLogger } from './logger.ts';
import type { Outbox } from './outbox.ts';

export interface OutboxPump {
  /** A connection is up: start sending from the oldest unacknowledged record. */
  connected(client: MqttClient): void;
  /** Sends what fits in the window (after an append, an ack, or a commit). */
  drain(): void;
}

export function createOutboxPump(outbox: Outbox, window: number, logger: TelemetryLogger): OutboxPump {
  let client: MqttClient | undefined;
  /** Drain cursor of the current connection: the last outbox id sent on it. */
  let sentUpTo = 0;
  let inFlight = 0;
  let lastError = '';

  function send(c: MqttClient, id: number, topic: string, payload: Buffer): void {
    sentUpTo = id;
    inFlight += 1;
    c.publish(topic, payload, { qos: 1, retain: false }, (err) => {
      if (!err) {
        try {
          outbox.delete(id);
        } catch (e) {
          logger.error(errorFields(e), 'outbox delete failed');
        }
      }
      if (client !== c) return;
      inFlight -= 1;
      if (err && lastError !== err.message) {
        lastError = err.message;
        logger.warn({ id, ...errorFields(err) }, 'outbox publish failed; it is sent again on the next connection');
      }
      drain();
    });
  }

  function drain(): void {
    const c = client;
    if (c === undefined || !c.connected) return;
    try {
      while (inFlight < window) {
        const batch = outbox.after(sentUpTo, window - inFlight);
        if (batch.length === 0) return;
        for (const rec of batch) send(c, rec.id, rec.topic, rec.payload);
      }
    } catch (err) {
      logger.error(errorFields(err), 'outbox drain failed');
    }
  }

  return {
    connected(c) {
      client = c;
      sentUpTo = 0;
      inFlight = 0;
      drain();
    },
    drain,
  };
}

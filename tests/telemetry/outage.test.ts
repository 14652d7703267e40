/**
 * Offline first: a 10 s broker outage with 500 shopper events queued (and a daemon restart in the
 * middle of it). Once the broker is reachable again every event arrives, in order, exactly once
 * after de-duplication by msgId; a connection cut while the backlog drains only adds duplicates.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../fleet/protocol/schemas.ts';
import { channelFilter, eventsTopic } from '../../fleet/protocol/topics.ts';
import { createTelemetryAgent, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { createEventPublisher } from '../../device/telemetry/events.ts';
import { Outbox } from '../../device/telemetry/outbox.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { recordingLogger, sleep, subscribe, tempDir, uniqueId, type Subscriber } from './support.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';


describe('broker outage with a queued backlog', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startMosquitto();
  }, 20_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('10 s outage, 500 events queued, daemon restarted mid-outage: every event delivered, in order, exactly once after de-duplication', async () => {
    const deviceId = uniqueId('mirror');
    const addr = { storeId: 'store-outage', deviceId };
    const state = await tempDir('mirror-outage-');
    const proxy = await startTcpProxy(broker.port);
    const sub: Subscriber = await subscribe(broker.url, channelFilter('events', addr));
    const logger = recordingLogger();
    let outbox: Outbox | undefined;
    let agent: TelemetryAgent | undefined;
    const startAgent = async () => {
      outbox = new Outbox({ file: path.join(state.dir, 'outbox.sqlite'), logger });
      agent = createTelemetryAgent({
        url: proxy.url,
        storeId: addr.storeId,
        deviceId,
        firmwareVersion: 'test',
        intervalMs: 60_000,
        stateDir: state.dir,
        snapshot: () => ({ fps: 0, latencyP50Ms: 0, latencyP95Ms: 0, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
        logger,
        outbox,
        outboxWindow: 16,
        reconnect: { initialMs: 200, maxMs: 1000 },
        // start() resolves at the first outcome; the limit only matters on a loaded machine.
        startTimeoutMs: 10_000,
      });
      await agent.start();
      return createEventPublisher({ deviceId, logger, send: (payload) => agent!.enqueue('event', eventsTopic(addr), payload) });
    };
    try {
      let events = await startAgent();
      expect(agent!.connected).toBe(true);

      proxy.setDown(true);
      for (let seq = 0; seq < 250; seq++) events.emit('product.tried', { sessionId: 'outage-session', seq, productId: `p-${seq % 7}` });
      await sleep(3000);
      // Daemon restart while the broker is still unreachable: the backlog is on disk.
      await agent!.stop();
      outbox!.close();
      events = await startAgent();
      expect(outbox!.stats().pending).toBe(250);
      for (let seq = 250; seq < 500; seq++) events.emit('product.tried', { sessionId: 'outage-session', seq, productId: `p-${seq % 7}` });
      await sleep(7000);
      expect(sub.messages).toHaveLength(0);
      proxy.setDown(false);

      // Cut the connection once while the backlog drains: redelivery, never loss.
      await sub.waitFor(() => sub.messages.length >= 100, 30_000, '100 events');
      proxy.cutAll();

      const distinct = () => new Set(sub.messages.map((m) => (m.json as { msgId: string }).msgId)).size;
      for (let i = 0; i < 600 && distinct() < 500; i++) await sleep(100);
      const firstSeen = new Map<string, number>();
      for (const m of sub.messages) {
        const p = parseMessage(m.topic, m.payload);
        expect(p.ok).toBe(true);
        if (!p.ok || p.kind !== 'event') continue;
        if (!firstSeen.has(p.value.msgId)) firstSeen.set(p.value.msgId, p.value.data!.seq as number);
      }
      const seqs = [...firstSeen.values()];
      expect(seqs).toHaveLength(500);
      expect(seqs).toEqual([...Array(500).keys()]);
      for (let i = 0; i < 100 && outbox!.stats().pending > 0; i++) await sleep(50);
      expect(outbox!.stats().pending).toBe(0);
    } finally {
      await agent?.stop();
      outbox?.close();
      await sub.close();
      await proxy.close();
      await state.remove();
    }
  }, 90_000);
});

/**
 * One device message must never stop the ingest (issue 13 item 1). Through a real Mosquitto into
 * the real fleet service, on SQLite and on PostgreSQL:
 * - a message the store refuses every time is dead-lettered with its reason and acknowledged,
 *   and the messages behind it (another mirror's, more than the broker's in-flight window) are stored;
 * - a NUL in a string is refused by the protocol, naming the field, and nothing is truncated;
 * - a store outage (PostgreSQL: the connection refused through a TCP proxy; SQLite: the driver
 *   answering "database is locked") is retried and redelivered: nothing lost, nothing twice,
 *   `/healthz` degraded while the ingest is stuck and ok again after.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import type { SqlDriver } from '../../fleet/service/store/driver.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { startTcpProxy, type TcpProxy } from '../telemetry/support.ts';
import { PG_URL, pgRequired, startFleet, until, type TestService } from './support.ts';

const PG = await pgRequired();

const event = (deviceId: string, productId: string) =>
  Buffer.from(
    JSON.stringify({ v: 1, msgId: randomUUID(), deviceId, ts: Date.now(), type: 'product.tried', data: { sessionId: 's-1', productId } }),
  );
const metrics = (deviceId: string, fps = 30) =>
  Buffer.from(
    JSON.stringify({
      v: 1, msgId: randomUUID(), deviceId, ts: Date.now(), intervalS: 5, fps, latencyP50Ms: 10, latencyP95Ms: 20,
      droppedFrames: 0, processedFrames: 10, backends: {}, models: {}, uptimeS: 1, rssBytes: 1,
    }),
  );

async function client(url: string, id: string): Promise<MqttClient> {
  const c = mqtt.connect(url, { clientId: id, clean: true, reconnectPeriod: 200 });
  c.on('error', () => undefined);
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  return c;
}

/** The store refuses the product id "poison" for ever (a value the database will never take). */
async function refusePoison(db: SqlDriver): Promise<void> {
  if (db.dialect === 'postgres') {
    // A CHECK constraint: SQLSTATE 23514, a permanent failure the ingest recognises at once.
    await db.exec("ALTER TABLE events ADD CONSTRAINT refuse_poison CHECK (product_id IS NULL OR product_id <> 'poison')");
  } else {
    // A trigger's own error: a failure the ingest cannot classify; dead-lettered after maxAttempts
    // while the store keeps answering.
    await db.exec(
      "CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.product_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poison refused by trigger'); END",
    );
  }
}

const count = async (db: SqlDriver, sql: string, params: Array<string | number> = []) => Number((await db.all(sql, params))[0].n);

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`fleet ingest on ${kind}: poison messages and store outages`, () => {
    let broker: TestBroker;
    let proxy: TcpProxy | undefined;
    let svc: TestService;
    const clients: MqttClient[] = [];
    const healthz = async () => {
      const r = await fetch(`${svc.url}/healthz`);
      return { status: r.status, body: (await r.json()) as { status: string; problems: string[] } };
    };

    beforeAll(async () => {
      broker = await startMosquitto();
      const pg = kind === 'postgres' ? new URL(PG_URL) : undefined;
      if (pg) {
        proxy = await startTcpProxy(Number(pg.port || 5432));
        pg.port = String(proxy.port);
      }
      svc = await startFleet(kind, {
        ...(pg ? { databaseUrl: pg.toString() } : {}),
        // A persistent session: what the service hands back is redelivered after its reconnect.
        mqtt: { url: broker.url, cleanSession: false },
        ingest: { retryHoldMs: 1500, maxAttempts: 3, stuckAfterS: 0.3 },
      });
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await svc?.stop();
      await proxy?.close();
      await broker?.stop();
    });

    it('a message the store refuses for ever is dead-lettered with its reason; 25 of them do not stop another mirror', async () => {
      await refusePoison(svc.store.db);
      const bad = await client(broker.url, `bad-${kind}`);
      const good = await client(broker.url, `good-${kind}`);
      clients.push(bad, good);
      const poison = event('bad-mirror', 'poison');
      // More than Mosquitto's in-flight window (20): unacknowledged, they would block everything.
      for (let i = 0; i < 24; i++) await bad.publishAsync(eventsTopic({ storeId: 's1', deviceId: 'bad-mirror' }), event('bad-mirror', 'poison'), { qos: 1 });
      await bad.publishAsync(eventsTopic({ storeId: 's1', deviceId: 'bad-mirror' }), poison, { qos: 1 });
      for (let i = 0; i < 10; i++) await good.publishAsync(telemetryTopic({ storeId: 's2', deviceId: 'good-mirror' }), metrics('good-mirror'), { qos: 1 });
      for (let i = 0; i < 5; i++) await good.publishAsync(eventsTopic({ storeId: 's2', deviceId: 'good-mirror' }), event('good-mirror', `lip-${i}`), { qos: 1 });

      await until(async () => (await count(svc.store.db, "SELECT COUNT(*) AS n FROM events WHERE device_id = 'good-mirror'")) === 5);
      await until(async () => (await svc.store.deadLetters.count()) === 25);
      expect(await count(svc.store.db, "SELECT COUNT(*) AS n FROM metrics WHERE device_id = 'good-mirror'")).toBe(10);
      expect(await count(svc.store.db, "SELECT COUNT(*) AS n FROM events WHERE device_id = 'bad-mirror'")).toBe(0);

      const letters = await svc.store.deadLetters.list(100);
      expect(letters).toHaveLength(25);
      const last = letters.find((l) => Buffer.from(l.payloadB64, 'base64').equals(poison));
      expect(last).toBeDefined();
      expect(last!.topic).toBe('mirror/v1/s1/bad-mirror/events');
      if (kind === 'postgres') expect(last).toMatchObject({ reason: 'permanent', error: expect.stringMatching(/^23514: .*refuse_poison/) });
      else expect(last).toMatchObject({ reason: 'repeated', error: expect.stringContaining('poison refused by trigger') });
      expect(svc.ingest.stats().deadLettered).toBe(25);
      expect((await healthz()).status).toBe(200);
    });

    it('a NUL in a string is refused by the protocol, naming the field; the next message is stored and nothing is truncated', async () => {
      const c = await client(broker.url, `nul-${kind}`);
      clients.push(c);
      const topic = eventsTopic({ storeId: 's3', deviceId: 'nul-mirror' });
      const before = svc.ingest.stats().invalidBy['bad-field:data.productId'] ?? 0;
      await c.publishAsync(topic, event('nul-mirror', 'bad\u0000'), { qos: 1 });
      await c.publishAsync(topic, event('nul-mirror', 'after-nul'), { qos: 1 });
      await until(async () => (await count(svc.store.db, "SELECT COUNT(*) AS n FROM events WHERE product_id = 'after-nul'")) === 1);
      expect(svc.ingest.stats().invalidBy['bad-field:data.productId']).toBe(before + 1);
      expect(await count(svc.store.db, "SELECT COUNT(*) AS n FROM events WHERE device_id = 'nul-mirror'")).toBe(1);
    });

    it('a store outage is retried and redelivered: nothing lost, nothing twice; /healthz shows the stuck ingest, then recovers', async () => {
      const c = await client(broker.url, `outage-${kind}`);
      clients.push(c);
      const restore = outage(kind, svc.store.db, proxy);
      const topic = telemetryTopic({ storeId: 's4', deviceId: 'outage-mirror' });
      for (let i = 0; i < 30; i++) await c.publishAsync(topic, metrics('outage-mirror', i), { qos: 1 });
      const stuck = await until(async () => {
        const h = await healthz();
        return h.status === 503 ? h.body : undefined;
      });
      expect(stuck.status).toBe('degraded');
      expect(stuck.problems.join(' ')).toMatch(/ingest stuck/);
      // Held longer than retryHoldMs: handed back to the broker (reconnect) at least once.
      await until(() => svc.ingest.stats().redelivered >= 1);
      expect(svc.ingest.stats().storeErrors.transient).toBeGreaterThan(0);
      restore();
      await until(async () => (await count(svc.store.db, "SELECT COUNT(*) AS n FROM metrics WHERE device_id = 'outage-mirror'")) === 30);
      const fps = (await svc.store.db.all("SELECT fps FROM metrics WHERE device_id = 'outage-mirror' ORDER BY fps")).map((r) => Number(r.fps));
      expect(fps).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(svc.ingest.stats().deadLettered).toBe(25); // nothing from the outage was dead-lettered
      await until(async () => (await healthz()).status === 200);
    });
  });
}

/**
 * Takes the store away; returns the function that brings it back. PostgreSQL: the TCP proxy in
 * front of it refuses connections and cuts the open ones. SQLite (one in-process connection, no
 * other writer can lock it): every driver call answers as a locked database does.
 */
function outage(kind: 'sqlite' | 'postgres', db: SqlDriver, proxy: TcpProxy | undefined): () => void {
  if (kind === 'postgres') {
    proxy!.setDown(true);
    return () => proxy!.setDown(false);
  }
  const real = { all: db.all, run: db.run, tx: db.tx };
  const locked = () => Promise.reject(new Error('database is locked'));
  Object.assign(db, { all: locked, run: locked, tx: locked });
  return () => Object.assign(db, real);
}

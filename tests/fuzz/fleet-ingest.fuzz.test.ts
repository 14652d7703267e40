/**
 * 1,000 fuzzed status / telemetry / events / update-state / update-request messages from fake
 * devices, through a real Mosquitto, into a real fleet service on SQLite and on PostgreSQL.
 * Valid messages (fresh msgIds, some redelivered) are interleaved with broken ones: every valid
 * metrics and event message must be stored exactly once, every broken one counted as invalid
 * under a named field, no store error, and the service must keep answering its API.
 */
import fc from 'fast-check';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicFor, type Channel } from '../../fleet/protocol/topics.ts';
import { MAX_PAYLOAD_BYTES } from '../../fleet/protocol/schemas.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { PG_URL, pgAvailable, startFleet, until, type TestService } from '../fleet/support.ts';
import { fuzzCase, fuzzSeed, sampleCases, type FuzzCase, type JsonObject, type MessageShape } from './payloads.ts';

const PG = await pgAvailable();
if (!PG) console.warn(`[tests] PostgreSQL not reachable at ${PG_URL}: skipping the PostgreSQL fuzz run (SQLite still runs)`);

/** Fake devices and the store each belongs to. */
const DEVICES: Record<string, string> = { 'mirror-1': 'store-a', 'mirror-2': 'store-a', 'mirror-3': 'store-b' };
const deviceId = fc.constantFrom(...Object.keys(DEVICES));
// Device clocks within the last hour (the fleet bounds timestamps against its own clock).
const startedAt = Date.now();
const ts = fc.integer({ min: 0, max: 3_600_000 }).map((ago) => startedAt - ago);
const common = { maxBytes: MAX_PAYLOAD_BYTES };
// Device → fleet strings refuse control characters (PostgreSQL cannot store NUL), so every
// string field of status, metrics and events counts as patterned: a NUL in any of them is refused.

const metrics = fc.record({ msgId: fc.uuid(), deviceId, ts, fps: fc.double({ min: 0, max: 60, noNaN: true }) }).map(
  (r): JsonObject => ({
    v: 1,
    ...r,
    intervalS: 5,
    latencyP50Ms: 21,
    latencyP95Ms: 33,
    droppedFrames: 0,
    processedFrames: 150,
    backends: { detector: 'tfjs-wasm' },
    models: { 'face-mesh': '1.2.0' },
    uptimeS: 60,
    rssBytes: 200_000_000,
  }),
);
const metricsShape: MessageShape = {
  ...common,
  required: ['v', 'msgId', 'deviceId', 'ts', 'intervalS', 'fps', 'latencyP50Ms', 'latencyP95Ms', 'droppedFrames', 'processedFrames', 'backends', 'models', 'uptimeS', 'rssBytes'],
  patterned: ['msgId', 'deviceId', 'models.face-mesh'],
  limited: [],
};

// Known types with their data, and a type this fleet does not know (kept, not counted).
const event = fc.record({ msgId: fc.uuid(), deviceId, ts, type: fc.constantFrom('session.start', 'product.tried', 'custom.note') }).map(
  (r): JsonObject => ({ v: 1, ...r, data: { sessionId: 'session-1', productId: 'lip-ruby' } }),
);
const eventShape: MessageShape = { ...common, required: ['v', 'msgId', 'deviceId', 'ts', 'type'], patterned: ['msgId', 'deviceId', 'type', 'data.sessionId', 'data.productId'], limited: [] };

const status = fc.record({ deviceId, ts, connectionSeq: fc.nat(1000), state: fc.constantFrom('online', 'offline') }).map(
  (r): JsonObject => ({ v: 1, ...r, storeId: DEVICES[r.deviceId as string], firmwareVersion: '0.4.2', models: { 'face-mesh': '1.2.0' } }),
);
const statusShape: MessageShape = {
  ...common,
  required: ['v', 'state', 'deviceId', 'storeId', 'connectionSeq', 'ts', 'firmwareVersion', 'models'],
  patterned: ['deviceId', 'storeId', 'firmwareVersion'],
  limited: [],
};

// Update reports for jobs this fleet never created: valid or not, the ingest must refuse them.
const updateState = fc.record({ msgId: fc.uuid(), deviceId, ts, jobId: fc.constantFrom('job-1', 'job-2') }).map(
  (r): JsonObject => ({ v: 1, ...r, rolloutId: 'r-1', artifactId: 'face-mesh-2', state: 'downloading', received: 1024, reason: 'none', detail: 'd' }),
);
const updateStateShape: MessageShape = {
  ...common,
  required: ['v', 'msgId', 'jobId', 'rolloutId', 'deviceId', 'artifactId', 'state', 'ts'],
  patterned: ['jobId', 'deviceId', 'state'],
  limited: ['reason', 'detail'],
  freeText: { fields: ['detail'], max: 512 },
};
const chunkRequest = fc.record({ deviceId, ts, jobId: fc.constantFrom('job-1', 'job-2'), index: fc.nat(10) }).map((r): JsonObject => ({ v: 1, ...r }));
const chunkRequestShape: MessageShape = { ...common, required: ['v', 'jobId', 'deviceId', 'index', 'ts'], patterned: ['jobId', 'deviceId'], limited: [] };

interface SentCase extends FuzzCase {
  topic: string;
  channel: Channel | 'bad-topic';
}

const onChannel = (channel: Channel, sub: string[], arb: fc.Arbitrary<FuzzCase>): fc.Arbitrary<SentCase> =>
  arb.map((c) => {
    const id = String(c.base.deviceId);
    return { ...c, channel, topic: topicFor(channel, { storeId: DEVICES[id], deviceId: id }, sub) };
  });

/** A valid payload on a topic whose ids the protocol refuses (still inside the fleet's subscriptions). */
const badTopic: fc.Arbitrary<SentCase> = fc
  .tuple(metrics, fc.constantFrom('bad store', 'störe', 'x'.repeat(65), 'a.b', ''), fc.constantFrom('telemetry', 'events', 'status', 'update/state'))
  .map(([m, storeSegment, channel]) => ({
    bytes: Buffer.from(JSON.stringify(m)),
    how: `bad topic segment ${JSON.stringify(storeSegment)}`,
    valid: false,
    base: m,
    channel: 'bad-topic',
    topic: `mirror/v1/${storeSegment}/${String(m.deviceId)}/${channel}`,
  }));

const fleetCase: fc.Arbitrary<SentCase> = fc.oneof(
  { weight: 4, arbitrary: onChannel('telemetry', [], fuzzCase(metrics, metricsShape)) },
  { weight: 4, arbitrary: onChannel('events', [], fuzzCase(event, eventShape)) },
  { weight: 2, arbitrary: onChannel('status', [], fuzzCase(status, statusShape)) },
  { weight: 2, arbitrary: onChannel('update', ['state'], fuzzCase(updateState, updateStateShape)) },
  { weight: 1, arbitrary: onChannel('update', ['request'], fuzzCase(chunkRequest, chunkRequestShape)) },
  { weight: 1, arbitrary: badTopic },
);

/** Whether the ingest must refuse it (update reports name jobs this fleet never made). */
const mustRefuse = (c: SentCase): boolean => !c.valid || c.channel === 'update' || c.channel === 'bad-topic';

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`fleet ingest under fuzz on ${kind}`, () => {
    let broker: TestBroker;
    let svc: TestService;

    beforeAll(async () => {
      broker = await startMosquitto();
      svc = await startFleet(kind, { mqtt: { url: broker.url }, logLevel: 'silent' });
    });
    afterAll(async () => {
      await svc?.stop();
      await broker?.stop();
    });

    it('1,000 fuzzed device messages: valid ones stored exactly once, broken ones refused by field, the service keeps serving', async () => {
      const seed = fuzzSeed(`fleet ingest (${kind})`);
      const cases = sampleCases(fleetCase, seed);
      // Redeliveries: every 25th valid metrics/event message is sent twice.
      const sent: SentCase[] = [];
      cases.forEach((c, i) => {
        sent.push(c);
        if (i % 25 === 0 && c.valid && (c.channel === 'telemetry' || c.channel === 'events')) sent.push(c);
      });

      const device = await mqtt.connectAsync(broker.url, { clientId: `fuzz-devices-${seed}`, reconnectPeriod: 200 });
      for (const c of sent) await device.publishAsync(c.topic, c.bytes, { qos: 1 });
      await device.endAsync();

      const handled = (s = svc.ingest.stats()) =>
        s.stored.status + s.stored.metrics + s.stored.events + s.stored.updateStates + s.stored.chunkRequests + s.duplicates + s.staleStatus + s.invalid + s.deadLettered;
      await until(() => handled() >= sent.length || undefined);
      const stats = svc.ingest.stats();
      const context = `seed ${seed}; ingest ${JSON.stringify(stats)}`;

      // Everything the schemas let through, the store takes: no store error, nothing dead-lettered.
      expect(stats.errors, `store errors (${context})`).toBe(0);
      expect(stats.deadLettered, `dead-lettered (${context})`).toBe(0);
      expect(stats.received, context).toBe(sent.length);
      const refused = sent.filter(mustRefuse);
      expect(stats.invalid, `refused (${context})`).toBe(refused.length);
      // Every refusal names a field (code:field, the field not empty).
      for (const key of Object.keys(stats.invalidBy)) expect(key, context).toMatch(/^[a-z-]+:.+$/);

      const stored = async (table: 'metrics' | 'events') =>
        (await svc.store.db.all(`SELECT msg_id FROM ${table}`)).map((r) => String(r.msg_id)).sort();
      const expected = (channel: Channel) => [...new Set(sent.filter((c) => c.valid && c.channel === channel).map((c) => String(c.base.msgId)))].sort();
      expect(await stored('metrics'), `metrics (${context})`).toEqual(expected('telemetry'));
      expect(await stored('events'), `events (${context})`).toEqual(expected('events'));

      // Still serving: the API answers, and a fresh valid message is still ingested.
      expect((await svc.api('GET', '/healthz')).body).toMatchObject({ status: 'ok', mqtt: true });
      const devices = await svc.api('GET', '/api/devices');
      expect(devices.status).toBe(200);
      expect(devices.body.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual(
        [...new Set(sent.filter((c) => !mustRefuse(c)).map((c) => String(c.base.deviceId)))].sort(),
      );
      const after = fc.sample(metrics, { seed: seed + 1, numRuns: 1 })[0];
      const late = await mqtt.connectAsync(broker.url, { clientId: `fuzz-late-${seed}` });
      await late.publishAsync(topicFor('telemetry', { storeId: DEVICES[String(after.deviceId)], deviceId: String(after.deviceId) }), JSON.stringify(after), { qos: 1 });
      await late.endAsync();
      await until(async () => (await stored('metrics')).includes(String(after.msgId)) || undefined);
    });
  });
}

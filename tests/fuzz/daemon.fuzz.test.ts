/**
 * The real daemon (child process, demo clip, a real Mosquitto through MQTT_URL) under 1,000
 * fuzzed socket.io events from a client with the kiosk's origin and 1,000 fuzzed MQTT messages
 * on its update/offer, update/chunk, update/cancel and cmd/ topics. It must stay up, keep sending
 * frames to a well-behaved kiosk, report ok on /healthz, refuse every broken update message
 * without a trace (no state report) and account for every valid offer (reported one by one or in
 * the rate-limited summary).
 */
import fc from 'fast-check';
import mqtt from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmdTopic, updateTopic } from '../../fleet/protocol/topics.ts';
import { MAX_PAYLOAD_BYTES } from '../../fleet/protocol/schemas.ts';
import { UpdateStateSchema, type UpdateState } from '../../fleet/protocol/update.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { collectFrames } from '../helpers/frames.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { until } from '../fleet/support.ts';
import { fuzzCase, fuzzSeed, sampleCases, type FuzzCase, type JsonObject, type MessageShape } from './payloads.ts';
import { socketCase, type SocketCase } from './socket-cases.ts';

const ADDR = { storeId: 'fuzz-store', deviceId: 'fuzz-mirror' };
const ts = fc.nat();

// Offers for a model this firmware cannot update: every valid one is answered "rejected".
const offer = fc.record({ jobId: fc.uuid(), ts, version: fc.constantFrom('2.0.0', '2.1.0-rc1') }).map(
  ({ jobId, ts, version }): JsonObject => ({
    v: 1,
    jobId,
    rolloutId: 'rollout-1',
    artifact: {
      id: `no-such-model-${version.replace(/\./g, '_')}`,
      kind: 'model',
      name: 'no-such-model',
      version,
      size: 2048,
      sha256: 'a'.repeat(64),
      signature: Buffer.alloc(64, 7).toString('base64'),
      keyId: 'fleet-key-1',
    },
    transfer: { type: 'mqtt', chunkSize: 1024, chunks: 2 },
    watchSeconds: 30,
    ts,
  }),
);
const offerShape: MessageShape = {
  required: ['v', 'jobId', 'rolloutId', 'artifact', 'transfer', 'ts'],
  patterned: ['jobId', 'rolloutId', 'artifact.id', 'artifact.kind', 'artifact.name', 'artifact.version', 'artifact.sha256', 'artifact.signature', 'artifact.keyId', 'transfer.type'],
  limited: [],
  maxBytes: MAX_PAYLOAD_BYTES,
};
const chunk = fc.record({ jobId: fc.uuid(), index: fc.nat(4), data: fc.uint8Array({ maxLength: 64 }) }).map(
  ({ jobId, index, data }): JsonObject => ({ v: 1, jobId, index, data: Buffer.from(data).toString('base64') }),
);
const chunkShape: MessageShape = { required: ['v', 'jobId', 'index', 'data'], patterned: ['jobId', 'data'], limited: [], maxBytes: MAX_PAYLOAD_BYTES };
const cancel = fc.record({ jobId: fc.uuid(), ts, action: fc.constantFrom('abort', 'rollback') }).map((r): JsonObject => ({ v: 1, ...r }));
const cancelShape: MessageShape = { required: ['v', 'jobId', 'action', 'ts'], patterned: ['jobId', 'action'], limited: [], maxBytes: MAX_PAYLOAD_BYTES };

interface MqttCase extends FuzzCase {
  topic: string;
  subtopic: 'offer' | 'chunk' | 'cancel' | 'cmd';
}
const on = (subtopic: MqttCase['subtopic'], topic: string, arb: fc.Arbitrary<FuzzCase>): fc.Arbitrary<MqttCase> => arb.map((c) => ({ ...c, subtopic, topic }));
const mqttCase: fc.Arbitrary<MqttCase> = fc.oneof(
  { weight: 4, arbitrary: on('offer', updateTopic(ADDR, 'offer'), fuzzCase(offer, offerShape)) },
  { weight: 3, arbitrary: on('chunk', updateTopic(ADDR, 'chunk'), fuzzCase(chunk, chunkShape)) },
  { weight: 2, arbitrary: on('cancel', updateTopic(ADDR, 'cancel'), fuzzCase(cancel, cancelShape)) },
  // Commands: unsigned (this daemon pins no command key), so each is refused with a result, whatever it holds.
  { weight: 1, arbitrary: on('cmd', cmdTopic(ADDR, 'reboot'), fuzzCase(cancel, cancelShape)) },
);

type KioskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A kiosk that behaves: acknowledges every frame and says it painted it. */
function wellBehavedKiosk(url: string): { socket: KioskSocket; frames: () => number } {
  let frames = 0;
  const socket: KioskSocket = io(url, { transports: ['websocket'], extraHeaders: { origin: url } });
  socket.on('frame', (frame, received) => {
    received();
    frames++;
    socket.emit('painted', { id: frame.id, paintedAt: Date.now() });
  });
  return { socket, frames: () => frames };
}

/** The daemon's log lines arrive through a pipe, after its MQTT replies may have: poll a while before asserting on them. */
async function settle(done: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
}

/** Resolves when the socket disconnects, or after `ms` if it does not. */
function dropOrPause(socket: Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('disconnect', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('disconnect', done);
  });
}

async function healthz(url: string): Promise<{ status: string }> {
  return (await fetch(`${url}/healthz`)).json() as Promise<{ status: string }>;
}

describe('daemon under fuzz (socket.io and MQTT, real child process and Mosquitto)', () => {
  let broker: TestBroker;
  let daemon: RunningDaemon;
  let fleet: mqtt.MqttClient;
  const reports: UpdateState[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    daemon = await startDaemon({ env: { MQTT_URL: broker.url, MIRROR_STORE_ID: ADDR.storeId, MIRROR_DEVICE_ID: ADDR.deviceId } });
    fleet = await mqtt.connectAsync(broker.url, { clientId: 'fuzz-fleet' });
    fleet.on('message', (_topic, payload) => reports.push(UpdateStateSchema.parse(JSON.parse(payload.toString()))));
    await fleet.subscribeAsync(updateTopic(ADDR, 'state'), { qos: 1 });
    // The daemon is subscribed once it has published its birth.
    await until(async () => (await healthz(daemon.url)).status === 'ok' || undefined, 100);
  });
  afterAll(async () => {
    await fleet?.endAsync();
    await daemon?.stop();
    await broker?.stop();
  });

  it('1,000 fuzzed socket.io events with the kiosk origin: the daemon stays up and a well-behaved kiosk keeps getting frames', async () => {
    const seed = fuzzSeed('daemon socket.io');
    const kiosk = wellBehavedKiosk(daemon.url);
    // Oversized and malformed packets make the server drop the connection: reconnect at once.
    const fuzzer: Socket = io(daemon.url, { transports: ['websocket'], extraHeaders: { origin: daemon.url }, reconnectionDelay: 20, reconnectionDelayMax: 100 });
    let disconnects = 0;
    fuzzer.on('disconnect', () => disconnects++);
    await until(() => fuzzer.connected || undefined);
    const before = kiosk.frames();
    const cases: SocketCase[] = sampleCases(socketCase, seed);
    for (const c of cases) {
      if (!fuzzer.connected) await until(() => fuzzer.connected || undefined, 10);
      c.send(fuzzer);
      // A packet that may make the server drop the connection: give the drop time to show, so the
      // next cases are not written into a closing socket.
      if (c.mayClose) await dropOrPause(fuzzer, 20);
    }
    await until(() => fuzzer.connected || undefined);
    fuzzer.close();

    expect(daemon.child.exitCode, daemon.stderr()).toBeNull();
    await until(() => kiosk.frames() > before + 5 || undefined);
    await until(async () => (await healthz(daemon.url)).status === 'ok' || undefined, 100);
    // A fresh kiosk connects and gets frames too.
    expect(await collectFrames(daemon.url, 5)).toHaveLength(5);
    kiosk.socket.close();
    const rejections = () => daemon.logs.filter((l) => l.msg === 'socket event rejected');
    await settle(() => rejections().length > 0);
    const rejected = rejections();
    expect(rejected.length, `seed ${seed}`).toBeGreaterThan(0);
    for (const l of rejected) expect(l.field, `seed ${seed}`).toEqual(expect.any(String));
    console.log(`[fuzz] daemon socket.io: ${cases.length} events (${cases.filter((c) => c.mayClose).length} malformed or oversized packets), the server dropped the fuzzer ${disconnects} times`);
  });

  it('1,000 fuzzed MQTT update and cmd messages: broken ones change nothing, every valid offer is refused and accounted for, frames keep flowing', async () => {
    const seed = fuzzSeed('daemon MQTT');
    const kiosk = wellBehavedKiosk(daemon.url);
    const cases = sampleCases(mqttCase, seed);
    const fuzzer = await mqtt.connectAsync(broker.url, { clientId: `fuzz-updates-${seed}` });
    for (const c of cases) await fuzzer.publishAsync(c.topic, c.bytes, { qos: 1 });

    // The agent reports refusals and logs bad messages at a bounded rate, then sums up the rest
    // per window: every message must be in exactly one of the two.
    const validOffers = new Set(cases.filter((c) => c.subtopic === 'offer' && c.valid).map((c) => String(c.base.jobId)));
    const broken = cases.filter((c) => c.subtopic !== 'cmd' && !c.valid).length;
    const named = (msg: string) => daemon.logs.filter((l) => l.msg === msg);
    const suppressed = (msg: string) => named(msg).reduce((n, l) => n + Object.values(l.suppressed as Record<string, number>).reduce((a, b) => a + b, 0), 0);
    const refusals = () => named('update: offer rejected').length + suppressed('update: more offers rejected than reported');
    const ignored = () =>
      daemon.logs.filter((l) => /^update: (invalid message|message is not JSON|message too large)/.test(String(l.msg))).length +
      suppressed('update: more invalid messages ignored than logged');
    await settle(() => refusals() >= validOffers.size && ignored() >= broken, 30_000);
    const context = `seed ${seed}`;
    const summaries = JSON.stringify(daemon.logs.filter((l) => /^update: more/.test(String(l.msg))).map((l) => l.suppressed));
    expect(daemon.child.exitCode, daemon.stderr()).toBeNull();
    expect(refusals(), `${context}; refused one by one ${named('update: offer rejected').length}, summaries ${summaries}, ignored ${ignored()} of ${broken}`).toBe(validOffers.size);
    expect(ignored(), context).toBe(broken);
    for (const l of named('update: offer rejected')) expect({ valid: validOffers.has(String(l.jobId)), reason: l.reason }, context).toEqual({ valid: true, reason: 'unsupported-model' });
    for (const l of named('update: invalid message; ignored')) expect(l.field, context).toEqual(expect.any(String));
    // Reports only ever name valid offers: a broken message never reaches the state machine.
    expect(reports.length, context).toBeGreaterThan(0);
    for (const r of reports) expect({ valid: validOffers.has(r.jobId), state: r.state }, context).toEqual({ valid: true, state: 'rejected' });

    // The summaries came at the end of their windows, so a fresh valid offer is answered on its own.
    const [late] = fc.sample(offer, { seed: seed + 1, numRuns: 1 });
    await fuzzer.publishAsync(updateTopic(ADDR, 'offer'), JSON.stringify(late), { qos: 1 });
    await fuzzer.endAsync();
    await until(() => reports.some((r) => r.jobId === late.jobId && r.reason === 'unsupported-model') || undefined);

    const before = kiosk.frames();
    await until(() => kiosk.frames() > before + 5 || undefined);
    kiosk.socket.close();
    await until(async () => (await healthz(daemon.url)).status === 'ok' || undefined, 100);
  });
});

/**
 * Issue 17 part 3, end to end: shopper events carrying a tone band and undertone go from two stores'
 * mirrors (the daemon's session tracker and event publisher tagging product.tried / look.saved with
 * the advisor's tone, and its telemetry agent; the window before and untagged mirrors as protocol v1
 * messages with their own clock) through a real Mosquitto into the fleet service (validated,
 * stored); the fleet aggregates them
 * per tone band x undertone, fleet-wide and per store, and publishes a bucket only with at least
 * 20 sessions (19: left out); the artifact, signed offline with the operator CLI, is pushed as a
 * `recommendations` rollout through the real rollout engine to the mirror's real update agent and
 * trends host, which installs it (`TrendsSlot.current()`); a tampered one is refused and the slot
 * keeps what it had; a mirror with no artifact reads null (content alone).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { generateSigningKey, signArtifact } from '../../fleet/cli/signing.ts';
import { TrendArtifactSchema, type TrendArtifact } from '../../fleet/protocol/recommendations.ts';
import { encodeMessage, type EventMessage } from '../../fleet/protocol/schemas.ts';
import { eventsTopic, updateTopic, parseTopic, type DeviceAddress } from '../../fleet/protocol/topics.ts';
import type { UpdateOffer } from '../../fleet/protocol/update.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { createTrendsHost, loadCommittedTrends, TrendsSlot } from '../../device/advisor/trends-host.ts';
import { usableBucket } from '../../device/advisor/trends.ts';
import { recommend } from '../../device/advisor/recommend.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import { createUpdateAgent, type UpdateAgent } from '../../device/update/agent.ts';
import type { ModelHost } from '../../device/update/host.ts';
import { UpdateStore } from '../../device/update/store.ts';
import { prepareUpdateBoot } from '../../device/update/boot.ts';
import { createTelemetryAgent, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { parsePublicKey } from '../../fleet/protocol/signing.ts';
import { recordingLogger } from '../telemetry/support.ts';
import { startSessions } from '../../device/daemon/sessions.ts';
import { StopSteps } from '../../device/daemon/stop-steps.ts';
import type { MirrorConfig } from '../../device/config/schema.ts';
import { startFleet, until, uploadArtifact, type TestService } from './support.ts';

const DAY = 86_400_000;
/** Products of the bundled catalog, so the mirror's advisor can recommend them. */
const LIP = 'lumiere-rouge-satin';
const BLUSH = 'velour-cheek-tint';
const SHOPPER = { monk: 5, undertone: 'warm', faceShape: 'oval' } as const;
const STORE_A = 'paris-01';
const STORE_B = 'lyon-02';

/** A mirror's event as it goes on the wire (protocol v1), with the device's clock. */
async function publishEvent(client: MqttClient, addr: DeviceAddress, type: string, data: Record<string, string | number>, ts: number): Promise<void> {
  const ev = { v: 1, msgId: randomUUID(), deviceId: addr.deviceId, ts, type, data } as EventMessage;
  const e = encodeMessage('event', ev);
  if (!e.ok) throw new Error(e.error);
  await client.publishAsync(eventsTopic(addr), e.payload, { qos: 1 });
}

interface Session {
  addr: DeviceAddress;
  tone?: { toneBand: string; undertone: string };
  tried: Array<[productId: string, shadeId: string]>;
  saved?: string[];
  ts: number;
}

async function publishSession(client: MqttClient, s: Session): Promise<number> {
  const sessionId = randomUUID();
  let n = 0;
  await publishEvent(client, s.addr, 'session.start', { sessionId }, s.ts);
  n++;
  for (const [productId, shadeId] of s.tried) {
    await publishEvent(client, s.addr, 'product.tried', { sessionId, productId, shadeId, ...s.tone }, s.ts + 1000 + n);
    n++;
  }
  if (s.saved) {
    const look = { sessionId, lookId: randomUUID(), products: s.saved.length, productIds: s.saved.join(','), ...s.tone };
    await publishEvent(client, s.addr, 'look.saved', look, s.ts + 5000);
    n++;
  }
  return n;
}

/**
 * A store's mirror as the daemon wires its shopper events (device/daemon/sessions.ts): the session
 * tracker, its event publisher tagging product.tried / look.saved with the advisor's tone (here set
 * by the test, as the retailer-enabled advisor would), the telemetry agent, the broker.
 */
interface ShopperMirror {
  shop(tone: { toneBand: string; undertone: string }, tried: Session['tried'], saved?: string[]): Promise<void>;
  stop(): Promise<void>;
}

async function shopperMirror(url: string, addr: DeviceAddress): Promise<ShopperMirror> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mirror-shoppers-'));
  const logger = recordingLogger();
  const telemetry = createTelemetryAgent({
    url,
    ...addr,
    firmwareVersion: '0.9.0',
    intervalMs: 60_000,
    stateDir,
    snapshot: () => ({ fps: 30, latencyP50Ms: 20, latencyP95Ms: 30, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
    logger,
    systemMetrics: false,
  });
  await telemetry.start();
  const stops = new StopSteps(logger);
  // Long enough that the tracker's own 1 s idle check never ends a session mid-visit.
  const idleTimeoutMs = 60_000;
  let tone: Record<string, string> | null = null;
  const sessions = startSessions({ mqtt: addr, session: { idleTimeoutMs } } as unknown as MirrorConfig, telemetry, stops, logger, () => tone);
  return {
    async shop(t, tried, saved) {
      tone = t;
      let at = Date.now();
      // A shopper's choices are milliseconds apart at least (events carry the wall clock).
      for (const [productId, shadeId] of tried) {
        sessions.tried(productId, shadeId, (at += 100));
        await new Promise((r) => setTimeout(r, 3));
      }
      if (saved) sessions.lookSaved(randomUUID(), saved, (at += 100));
      sessions.tick((at += 2 * idleTimeoutMs)); // the shopper leaves: the session ends
    },
    stop: async () => {
      await stops.runAll();
      await telemetry.stop();
    },
  };
}

/** The mirror's update side as the daemon wires it, minus the camera: telemetry agent, update agent, trends host. */
interface Mirror {
  addr: DeviceAddress;
  store: UpdateStore;
  slot: TrendsSlot;
  agent: UpdateAgent;
  telemetry: TelemetryAgent;
  states: Array<{ state: string; reason?: string; artifactId: string }>;
  stop(): Promise<void>;
}

/** The mesh is not updated here: a host that updates nothing (offers for models would be `unsupported-model`). */
const noModels = (): ModelHost => ({
  updatable: [],
  serving: () => ({ version: 'bundled', dir: null }),
  smokeTest: async () => ({ ok: false, detail: 'no models here' }),
  activate: () => {},
  revert: async () => {},
  commit: () => {},
  health: () => ({ processedFrames: 0, stageErrors: 0, fps: 30 }),
});

async function startMirror(url: string, addr: DeviceAddress, publicKeys: Map<string, ReturnType<typeof parsePublicKey>>): Promise<Mirror> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mirror-trends-'));
  const logger = recordingLogger();
  const store = new UpdateStore(stateDir);
  const committed = await prepareUpdateBoot(store, 'recommendations', logger);
  const boot = await loadCommittedTrends(committed, logger);
  const slot = new TrendsSlot(boot.trends);
  let frames = 0;
  const health = () => ({ processedFrames: (frames += 30), stageErrors: 0, fps: 30 });
  const trendsHost = createTrendsHost({ slot, serving: boot.model, health, logger });
  const states: Mirror['states'] = [];
  let agent: UpdateAgent | undefined;
  const telemetry = createTelemetryAgent({
    url,
    ...addr,
    firmwareVersion: '0.9.0',
    intervalMs: 60_000,
    stateDir,
    snapshot: () => ({ fps: 30, latencyP50Ms: 20, latencyP95Ms: 30, droppedFrames: 0, processedFrames: frames, backends: {}, models: {} }),
    logger,
    systemMetrics: false,
    subscriptions: (['offer', 'chunk', 'cancel'] as const).map((sub) => updateTopic(addr, sub)),
    onMessage: (topic, payload) => {
      const t = parseTopic(topic);
      if (t.ok && t.value.channel === 'update' && t.value.subtopic.length === 1) agent?.handleMessage(t.value.subtopic[0], payload);
    },
    onConnect: () => agent?.onConnect(),
  });
  // Watch what the mirror reports (the agent publishes through the same telemetry connection).
  const transport = {
    enqueue: (kind: Parameters<TelemetryAgent['enqueue']>[0], topic: string, payload: Buffer) => {
      const s = JSON.parse(payload.toString()) as { state: string; reason?: string; artifactId: string };
      states.push({ state: s.state, reason: s.reason, artifactId: s.artifactId });
      return telemetry.enqueue(kind, topic, payload);
    },
    publishNow: (topic: string, payload: Buffer) => telemetry.publishNow(topic, payload),
    get connected() {
      return telemetry.connected;
    },
  };
  agent = createUpdateAgent({ store, host: noModels(), documents: { recommendations: trendsHost }, address: addr, publicKeys, transport, logger, watchTickMs: 50 });
  await telemetry.start();
  await agent.start();
  return {
    addr,
    store,
    slot,
    agent,
    telemetry,
    states,
    stop: async () => {
      await agent!.stop();
      await telemetry.stop();
    },
  };
}

describe('recommendations from shopper behaviour, fleet to mirror', { timeout: 180_000 }, () => {
  let broker: TestBroker;
  let svc: TestService;
  let client: MqttClient;
  let mirror: Mirror;
  let shopA: ShopperMirror;
  let shopB: ShopperMirror;
  let artifact: TrendArtifact;
  const key = generateSigningKey();
  const publicKeys = new Map([['release', parsePublicKey(key.publicKeyRaw)]]);
  const devA = { storeId: STORE_A, deviceId: 'mirror-a' };
  const devB = { storeId: STORE_B, deviceId: 'mirror-b' };

  beforeAll(async () => {
    broker = await startMosquitto();
    svc = await startFleet('sqlite', { mqtt: { url: broker.url }, trustedKeys: { release: key.publicKeyPem }, rollouts: { tickMs: 50, minDevicesDone: 1, watchSeconds: 1 } });
    client = await mqtt.connectAsync(broker.url, { clientId: `mirrors-${randomUUID().slice(0, 8)}` });
    mirror = await startMirror(broker.url, { storeId: STORE_A, deviceId: 'mirror-trends' }, publicKeys);
    shopA = await shopperMirror(broker.url, devA);
    shopB = await shopperMirror(broker.url, devB);
  });
  afterAll(async () => {
    await mirror?.stop();
    await shopA?.stop();
    await shopB?.stop();
    await client?.endAsync();
    await svc?.stop();
    await broker?.stop();
  });

  it('a mirror with no artifact reads none: the advisor recommends from content alone', () => {
    expect(mirror.slot.current()).toBeNull();
    expect(usableBucket(mirror.slot.current(), { toneBand: 'medium', undertone: 'warm', storeId: STORE_A, minSessions: 20 })).toBeNull();
    const recs = recommend(bundledCatalog(), SHOPPER, { artifact: mirror.slot.current(), storeId: STORE_A, minSessions: 20 });
    expect(recs.length).toBeGreaterThan(0);
    for (const r of recs) expect(r.reason).not.toMatch(/shoppers/i);
  });

  it('aggregates events from the broker; a bucket of 20 sessions is published, one of 19 is not', async () => {
    const now = Date.now();
    let sent = 0;
    // medium/warm: 20 sessions (12 in Paris, 8 in Lyon); each tries two shades of one lipstick and
    // ends on "ruby", half of them save it. A session's save goes to the shade it tried last.
    // These come from the mirrors' own session tracker and telemetry agent.
    for (let i = 0; i < 20; i++) {
      const tried: Session['tried'] = [
        [LIP, 'nude-rose'],
        [LIP, 'ruby'],
      ];
      if (i % 4 === 0) tried.push([BLUSH, 'petal']);
      await (i < 12 ? shopA : shopB).shop({ toneBand: 'medium', undertone: 'warm' }, tried, i % 2 === 0 ? [LIP] : undefined);
      // session.start, the tries, the save, session.end
      sent += 2 + tried.length + (i % 2 === 0 ? 1 : 0);
    }
    // The window before (28 to 56 days ago): 5 sessions of the same bucket saved ruby.
    for (let i = 0; i < 5; i++) {
      sent += await publishSession(client, { addr: devA, tone: { toneBand: 'medium', undertone: 'warm' }, tried: [[LIP, 'ruby']], saved: [LIP], ts: now - 40 * DAY + i * 60_000 });
    }
    // deep/cool: 19 sessions, all in Paris. Never published, neither fleet-wide nor per store.
    for (let i = 0; i < 19; i++) {
      await shopA.shop({ toneBand: 'deep', undertone: 'cool' }, [[LIP, 'pink-peony']], [LIP]);
      sent += 4;
    }
    // Mirrors whose retailer did not enable sharing: no tone, never aggregated.
    for (let i = 0; i < 25; i++) sent += await publishSession(client, { addr: devB, tried: [['lip-satin', 'rose']], saved: ['lip-satin'], ts: now - DAY });
    // A tone band without its undertone (a mirror's encoder refuses it; raw bytes here) is
    // refused at ingest, naming the field, and not stored.
    const halfTone = { v: 1, msgId: randomUUID(), deviceId: devA.deviceId, ts: now - DAY, type: 'product.tried', data: { sessionId: 'half-tone', productId: 'lip-satin', shadeId: 'rose', toneBand: 'light' } };
    await client.publishAsync(eventsTopic(devA), JSON.stringify(halfTone), { qos: 1 });
    await until(async () => (await svc.store.messages.counts()).events === sent);
    await until(() => svc.ingest.stats().invalidBy['bad-field:data.undertone'] === 1);

    const res = await svc.api('GET', '/api/recommendations');
    expect(res.status).toBe(200);
    artifact = TrendArtifactSchema.parse(res.body);
    expect(artifact).toMatchObject({ kind: 'recommendations', windowDays: 28, minSessions: 20 });
    // Exactly one bucket: medium/warm across the fleet (Paris alone has 12, Lyon 8, deep/cool 19).
    expect(artifact.buckets.map((b) => [b.scope, b.toneBand, b.undertone, b.sessions])).toEqual([['fleet', 'medium', 'warm', 20]]);
    expect(artifact.buckets[0].products).toEqual([
      { productId: LIP, shadeId: 'ruby', tried: 20, saved: 10, trend: 2 },
      { productId: LIP, shadeId: 'nude-rose', tried: 20, saved: 0, trend: null },
      { productId: BLUSH, shadeId: 'petal', tried: 5, saved: 0, trend: null },
    ]);
    // Nothing in it names a session, a device or a mirror.
    expect(JSON.stringify(artifact)).not.toMatch(/mirror-|sessionId|paris|lyon|[0-9a-f]{8}-[0-9a-f]{4}-/);

    // The threshold is configuration: raised for one build (21: nothing), never lowered.
    expect((await svc.api('GET', '/api/recommendations?minSessions=21')).body.buckets).toEqual([]);
    const lower = await svc.api('GET', '/api/recommendations?minSessions=19');
    expect(lower.status).toBe(400);
    expect(lower.body.error.field).toBe('minSessions');
  });

  it('the fleet k is configuration: a service configured with k = 19 publishes the 19-session bucket', async () => {
    const svc19 = await startFleet('sqlite', { recommendations: { minSessions: 19 } }, { mqtt: false });
    try {
      const now = Date.now();
      for (let i = 0; i < 19; i++) {
        const sessionId = `s19-${i}`;
        const ev = { v: 1, msgId: randomUUID(), deviceId: 'mirror-a', ts: now - DAY, type: 'product.tried', data: { sessionId, productId: 'lip-velvet', shadeId: 'plum', toneBand: 'deep', undertone: 'cool' } } as EventMessage;
        await svc19.store.messages.ingestEvent(STORE_A, ev, now);
      }
      const res = await svc19.api('GET', '/api/recommendations');
      expect(res.body.buckets.map((b: { scope: string; sessions: number }) => [b.scope, b.sessions])).toEqual([
        ['fleet', 19],
        [STORE_A, 19],
      ]);
    } finally {
      await svc19.stop();
    }
  });

  it('signed with the operator CLI and pushed, the mirror installs it; the mirror also keeps its own k', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-trends-'));
    const keyFile = path.join(dir, 'release.key.pem');
    await writeFile(keyFile, key.privateKeyPem);
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token } };
    const file = path.join(dir, 'trends.json');
    expect(await runCli(['recommendations', '--out', file], io)).toBe(0);
    const built = TrendArtifactSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    expect(built.buckets).toHaveLength(1);
    const signArgs = ['sign', file, '--kind', 'recommendations', '--name', 'recommendations', '--version', built.version, '--key', keyFile, '--key-id', 'release'];
    expect(await runCli(signArgs, io), out.join('\n')).toBe(0);
    const meta = JSON.parse(await readFile(path.join(dir, 'trends.manifest.json'), 'utf8'));
    expect(meta).toMatchObject({ kind: 'recommendations', name: 'recommendations', version: built.version });
    expect(await runCli(['push', file, '--to', `device=${mirror.addr.storeId}/${mirror.addr.deviceId}`], io), out.join('\n')).toBe(0);

    await until(() => mirror.states.some((s) => s.artifactId === meta.id && s.state === 'committed'));
    expect(mirror.slot.current()).toEqual(built);
    // The advisor's pick: Paris has no bucket of its own, the fleet's is used.
    expect(usableBucket(mirror.slot.current(), { toneBand: 'medium', undertone: 'warm', storeId: STORE_A, minSessions: 20 })?.scope).toBe('fleet');
    expect(usableBucket(mirror.slot.current(), { toneBand: 'deep', undertone: 'cool', storeId: STORE_A, minSessions: 20 })).toBeNull();
    // The advisor puts the shade this tone saved most first, saying why.
    const recs = recommend(bundledCatalog(), SHOPPER, { artifact: mirror.slot.current(), storeId: STORE_A, minSessions: 20 });
    expect(recs[0]).toEqual({ productId: LIP, shadeId: 'ruby', reason: 'Saved most by shoppers with a similar tone in the last 28 days' });
    // A mirror configured with a larger k ignores a 20-session bucket.
    expect(usableBucket(mirror.slot.current(), { toneBand: 'medium', undertone: 'warm', storeId: STORE_A, minSessions: 21 })).toBeNull();
    // And an artifact's own k binds a mirror configured below it (a hand-built artifact, or a mirror's k set low).
    expect(usableBucket({ ...mirror.slot.current()!, minSessions: 21 }, { toneBand: 'medium', undertone: 'warm', storeId: STORE_A, minSessions: 5 })).toBeNull();
    expect(usableBucket(mirror.slot.current(), { toneBand: 'medium', undertone: 'warm', storeId: STORE_A, minSessions: 5 })?.scope).toBe('fleet');
    // It survives a restart: the committed artifact loads on boot.
    const logger = recordingLogger();
    const again = await loadCommittedTrends(await prepareUpdateBoot(mirror.store, 'recommendations', logger), logger);
    expect(again.trends).toEqual(built);
  });

  it('a tampered artifact is refused like any other: the fleet will not store it, the mirror will not take it', async () => {
    const installed = mirror.slot.current();
    expect(installed).not.toBeNull();
    const forgedTrends: TrendArtifact = {
      ...artifact,
      version: `${artifact.version}9`,
      buckets: [{ ...artifact.buckets[0], toneBand: 'deep', undertone: 'cool', sessions: 20 }],
    };
    const goodBytes = Buffer.from(JSON.stringify({ ...forgedTrends, buckets: artifact.buckets }));
    const meta = signArtifact(goodBytes, { id: 'trends-forged', kind: 'recommendations', name: 'recommendations', version: forgedTrends.version, keyId: 'release' }, key.privateKeyPem);
    const forgedBytes = Buffer.from(JSON.stringify(forgedTrends).padEnd(goodBytes.length, ' ').slice(0, goodBytes.length));
    // Upload: the bytes do not hash to what was signed.
    const up = await uploadArtifact(svc, forgedBytes, meta);
    expect(up.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(up.body)).toMatch(/sha256/);
    // Straight to the mirror, as an attacker on the broker would: signed by an unknown key.
    const other = generateSigningKey();
    const unknown = signArtifact(forgedBytes, { id: 'trends-evil', kind: 'recommendations', name: 'recommendations', version: forgedTrends.version, keyId: 'release' }, other.privateKeyPem);
    const offer: UpdateOffer = { v: 1, jobId: 'evil-job', rolloutId: 'evil', artifact: unknown, transfer: { type: 'mqtt', chunkSize: 32 * 1024, chunks: 1 }, watchSeconds: 1, ts: Date.now() };
    await client.publishAsync(updateTopic(mirror.addr, 'offer'), Buffer.from(JSON.stringify(offer)), { qos: 1 });
    await until(() => mirror.states.find((s) => s.artifactId === 'trends-evil' && s.state === 'rejected'));
    expect(mirror.states.find((s) => s.artifactId === 'trends-evil')?.reason).toBe('bad-signature');
    expect(mirror.slot.current()).toEqual(installed);
  });

  it('a signed artifact whose content breaks the rules (a 19-session bucket) fails on the mirror as bad-recommendations', async () => {
    const installed = mirror.slot.current();
    const bad = { ...artifact, version: `${artifact.version}1`, buckets: [{ ...artifact.buckets[0], sessions: 19 }] };
    const bytes = Buffer.from(JSON.stringify(bad));
    const meta = signArtifact(bytes, { id: 'trends-19', kind: 'recommendations', name: 'recommendations', version: bad.version, keyId: 'release' }, key.privateKeyPem);
    expect((await uploadArtifact(svc, bytes, meta)).status).toBe(201);
    const selector = { devices: [`${mirror.addr.storeId}/${mirror.addr.deviceId}`] };
    expect((await svc.api('POST', '/api/rollouts', { artifactId: meta.id, selector })).status).toBe(201);
    const end = await until(() => mirror.states.find((s) => s.artifactId === 'trends-19' && s.state === 'failed'));
    expect(end.reason).toBe('bad-recommendations');
    expect(mirror.slot.current()).toEqual(installed);
  });
});

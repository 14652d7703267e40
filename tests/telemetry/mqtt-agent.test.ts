/**
 * The telemetry agent against a real Mosquitto (started per suite on a free loopback port).
 * Each test uses its own device id, so retained state never leaks between tests.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetryAgent, type MetricsSnapshot, type TelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { parseMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { statusTopic, telemetryTopic } from '../../fleet/protocol/topics.ts';
import { freePort, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import {
  recordingLogger,
  sleep,
  startTcpProxy,
  subscribe,
  tempDir,
  uniqueId,
  type Received,
  type Subscriber,
} from './support.ts';

const STORE = 'store-test';

const snapshot = (): MetricsSnapshot => ({
  fps: 29.5,
  latencyP50Ms: 21.5,
  latencyP95Ms: 34,
  droppedFrames: 3,
  processedFrames: 1200,
  backends: { detector: 'tfjs-wasm', mesh: 'onnx-cpu' },
  models: { detector: '1.0.0', mesh: '2.1.0' },
});

function status(m: Received): StatusMessage | undefined {
  const r = parseMessage(m.topic, m.payload);
  return r.ok && r.kind === 'status' ? r.value : undefined;
}

let broker: TestBroker;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  broker = await startMosquitto();
}, 20_000);

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

afterAll(async () => {
  await broker?.stop();
});

async function makeAgent(
  overrides: Partial<Parameters<typeof createTelemetryAgent>[0]> = {},
): Promise<{ agent: TelemetryAgent; deviceId: string; stateDir: string; logger: ReturnType<typeof recordingLogger> }> {
  const deviceId = overrides.deviceId ?? uniqueId('dev');
  const state = await tempDir();
  const logger = recordingLogger();
  const agent = createTelemetryAgent({
    url: broker.url,
    storeId: STORE,
    deviceId,
    firmwareVersion: '0.1.0-test',
    intervalMs: 200,
    stateDir: state.dir,
    snapshot,
    logger,
    reconnect: { initialMs: 100, maxMs: 500 },
    ...overrides,
  });
  cleanups.push(() => state.remove(), () => agent.stop());
  return { agent, deviceId, stateDir: state.dir, logger };
}

async function sub(topic: string): Promise<Subscriber> {
  const s = await subscribe(broker.url, topic);
  cleanups.push(() => s.close());
  return s;
}

describe('mirror presence on the broker', () => {
  it('a fleet service that subscribes after the mirror connected still learns it is online (retained birth)', async () => {
    const { agent, deviceId } = await makeAgent();
    await agent.start();
    expect(agent.connected).toBe(true);
    // Subscribe only now: what arrives must be the broker's retained copy.
    const s = await sub(statusTopic({ storeId: STORE, deviceId }));
    const m = await s.waitFor((x) => status(x)?.state === 'online', 5_000, 'retained online status');
    expect(m.retain).toBe(true);
    const st = status(m)!;
    expect(st).toMatchObject({
      v: 1,
      state: 'online',
      deviceId,
      storeId: STORE,
      connectionSeq: agent.connectionSeq,
      firmwareVersion: '0.1.0-test',
      models: { detector: '1.0.0', mesh: '2.1.0' },
      backends: { detector: 'tfjs-wasm', mesh: 'onnx-cpu' },
    });
    expect(st.reason).toBeUndefined();
  }, 20_000);

  it('metrics that the fleet cannot validate would be lost: a published metrics message passes the schema', async () => {
    const deviceId = uniqueId('dev');
    const s = await sub(telemetryTopic({ storeId: STORE, deviceId }));
    const { agent } = await makeAgent({ deviceId });
    await agent.start();
    const m = await s.waitFor(() => true, 5_000, 'metrics');
    const r = parseMessage(m.topic, m.payload);
    if (!r.ok) throw new Error(`metrics failed validation: ${r.error}`);
    expect(r.kind).toBe('metrics');
    if (r.kind !== 'metrics') return;
    expect(r.value).toMatchObject({
      v: 1,
      deviceId,
      intervalS: 0.2,
      fps: 29.5,
      latencyP50Ms: 21.5,
      latencyP95Ms: 34,
      droppedFrames: 3,
      processedFrames: 1200,
      models: { mesh: '2.1.0' },
      backends: { mesh: 'onnx-cpu' },
    });
    expect(r.value.rssBytes).toBeGreaterThan(0);
    expect(m.retain).toBe(false);
    // Each message has its own id, for at-least-once deduplication.
    const second = await s.waitFor((x) => x !== m, 5_000, 'second metrics message');
    const r2 = parseMessage(second.topic, second.payload);
    expect(r2.ok && r2.kind === 'metrics' && r2.value.msgId !== r.value.msgId).toBe(true);
  }, 20_000);

  it('mirror process killed without a goodbye (SIGKILL): the broker publishes the retained offline will with the same connectionSeq', async () => {
    const deviceId = uniqueId('dev');
    const state = await tempDir();
    cleanups.push(() => state.remove());
    const topic = statusTopic({ storeId: STORE, deviceId });
    const s = await sub(topic);
    const fixture = fileURLToPath(new URL('./fixtures/agent-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        AGENT_CHILD_OPTS: JSON.stringify({ url: broker.url, storeId: STORE, deviceId, stateDir: state.dir, intervalMs: 200 }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const seq = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child never connected: ${stderr}`)), 15_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line) as { event: string; connectionSeq: number };
        if (msg.event === 'connected') {
          clearTimeout(t);
          resolve(msg.connectionSeq);
        }
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before connecting: ${stderr}`)));
    });
    await s.waitFor((m) => status(m)?.state === 'online' && status(m)?.connectionSeq === seq, 5_000, 'birth');

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const will = await s.waitFor((m) => status(m)?.state === 'offline', 10_000, 'last will');
    expect(status(will)).toMatchObject({ state: 'offline', reason: 'connection-lost', connectionSeq: seq, deviceId });
    // And it is retained: a fleet service starting later sees the mirror offline.
    const late = await sub(topic);
    const retained = await late.waitFor(() => true, 5_000, 'retained status');
    expect(retained.retain).toBe(true);
    expect(status(retained)).toMatchObject({ state: 'offline', connectionSeq: seq });
  }, 30_000);

  it('network cuts the connection: will offline for that connection, then a new birth with a higher connectionSeq', async () => {
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const deviceId = uniqueId('dev');
    const s = await sub(statusTopic({ storeId: STORE, deviceId }));
    const { agent } = await makeAgent({ deviceId, url: proxy.url });
    await agent.start();
    const firstSeq = agent.connectionSeq;
    await s.waitFor((m) => status(m)?.state === 'online' && status(m)?.connectionSeq === firstSeq, 5_000, 'first birth');

    expect(proxy.cutAll()).toBeGreaterThan(0);

    const will = await s.waitFor((m) => status(m)?.state === 'offline', 10_000, 'will after cut');
    expect(status(will)).toMatchObject({ connectionSeq: firstSeq, reason: 'connection-lost' });
    const rebirth = await s.waitFor(
      (m) => status(m)?.state === 'online' && status(m)!.connectionSeq > firstSeq,
      10_000,
      'birth after reconnect',
    );
    expect(agent.connected).toBe(true);
    expect(status(rebirth)!.connectionSeq).toBe(agent.connectionSeq);
  }, 30_000);

  it('graceful stop leaves the mirror offline with reason shutdown, not a connection-lost will', async () => {
    const deviceId = uniqueId('dev');
    const topic = statusTopic({ storeId: STORE, deviceId });
    const s = await sub(topic);
    const { agent } = await makeAgent({ deviceId });
    await agent.start();
    const seq = agent.connectionSeq;
    await s.waitFor((m) => status(m)?.state === 'online', 5_000, 'birth');
    await agent.stop();
    expect(agent.connected).toBe(false);
    const off = await s.waitFor((m) => status(m)?.state === 'offline', 5_000, 'offline');
    expect(status(off)).toMatchObject({ state: 'offline', reason: 'shutdown', connectionSeq: seq });
    // The clean DISCONNECT made the broker drop the will: no second offline arrives.
    await sleep(500);
    expect(s.messages.filter((m) => status(m)?.state === 'offline')).toHaveLength(1);
    const late = await sub(topic);
    const retained = await late.waitFor(() => true, 5_000, 'retained status');
    expect(status(retained)).toMatchObject({ state: 'offline', reason: 'shutdown' });
  }, 20_000);

  it('broker down when the mirror starts: start() still returns, and the agent connects once the broker is up', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const { agent, deviceId, logger } = await makeAgent({ url, startTimeoutMs: 2_000 });
    await agent.start(); // must not hang or throw
    expect(agent.connected).toBe(false);
    await sleep(300); // a few failed attempts
    expect(logger.lines.some((l) => l.level === 'warn' && /connect failed/.test(l.msg ?? ''))).toBe(true);

    const late = await startMosquitto({ port });
    cleanups.push(() => late.stop());
    const s = await subscribe(late.url, statusTopic({ storeId: STORE, deviceId }));
    cleanups.push(() => s.close());
    const birth = await s.waitFor((m) => status(m)?.state === 'online', 10_000, 'birth once the broker is up');
    expect(agent.connected).toBe(true);
    expect(status(birth)!.connectionSeq).toBe(agent.connectionSeq);
  }, 30_000);

  it('a snapshot() that throws or reports NaN does not stop telemetry or escape the agent', async () => {
    const deviceId = uniqueId('dev');
    const s = await sub(telemetryTopic({ storeId: STORE, deviceId }));
    let calls = 0;
    const { agent, logger } = await makeAgent({
      deviceId,
      snapshot: () => {
        calls += 1;
        if (calls % 2 === 0) throw new Error('pipeline not ready');
        return { ...snapshot(), fps: Number.NaN, latencyP95Ms: Number.POSITIVE_INFINITY };
      },
    });
    await agent.start();
    const m = await s.waitFor(() => true, 5_000, 'metrics despite a flaky snapshot');
    const r = parseMessage(m.topic, m.payload);
    expect(r.ok && r.kind === 'metrics' && r.value.fps === 0 && r.value.latencyP95Ms === 0).toBe(true);
    await s.waitFor((x) => x !== m, 5_000, 'metrics keep coming');
    expect(logger.lines.some((l) => l.level === 'error' && /snapshot\(\) threw/.test(l.msg ?? ''))).toBe(true);
  }, 20_000);

  it('a model name the protocol rejects does not cost the mirror its birth (status sent without model maps)', async () => {
    const { agent, deviceId, logger } = await makeAgent({
      snapshot: () => ({ ...snapshot(), models: { 'bad name!': '1.0.0' } }),
    });
    await agent.start();
    expect(agent.connected).toBe(true);
    const s = await sub(statusTopic({ storeId: STORE, deviceId }));
    const m = await s.waitFor((x) => status(x)?.state === 'online', 5_000, 'birth');
    expect(status(m)!.models).toEqual({});
    expect(logger.lines.some((l) => l.level === 'error' && (l.obj as { field?: string }).field === 'models.bad name!')).toBe(true);
  }, 20_000);

  it('connectionSeq survives a restart: the next run never reuses a sequence number', async () => {
    const first = await makeAgent();
    await first.agent.start();
    const seq1 = first.agent.connectionSeq;
    await first.agent.stop();
    const second = await makeAgent({ deviceId: first.deviceId, stateDir: first.stateDir });
    await second.agent.start();
    expect(second.agent.connected).toBe(true);
    expect(second.agent.connectionSeq).toBeGreaterThan(seq1);
  }, 20_000);
});

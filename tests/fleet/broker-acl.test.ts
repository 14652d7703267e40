/**
 * The shipped Mosquitto config and ACL (fleet/broker/), TLS on, client certificates on: a device
 * can speak only as itself and hear only its own commands and updates; the fleet service (its
 * own certificate) ingests over TLS.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { eventsTopic, statusTopic, telemetryTopic, updateTopic } from '../../fleet/protocol/topics.ts';
import { startFleet, until, type TestService } from './support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from './tls-broker.ts';

const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the TLS + ACL broker suite');

describe.skipIf(!HAVE)('broker ACL with TLS client certificates', () => {
  let broker: TlsBroker;
  let svc: TestService;
  let a: SimDevice;
  const A = { storeId: 'paris-01', deviceId: 'mirror-a' };
  const B = { storeId: 'paris-01', deviceId: 'mirror-b' };

  beforeAll(async () => {
    broker = await startTlsBroker(['paris-01/mirror-a', 'paris-01/mirror-b']);
    svc = await startFleet('sqlite', { mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') } });
    a = new SimDevice({ url: broker.url, ...A, mqtt: await broker.creds('paris-01/mirror-a') });
    await a.start();
    await until(async () => (await svc.store.devices.getDevice('paris-01', 'mirror-a'))?.state === 'online');
  });
  afterAll(async () => {
    await a?.client?.endAsync(true).catch(() => undefined);
    await svc?.stop();
    await broker?.stop();
  });

  it('device A cannot publish as device B (or as itself in another store)', async () => {
    const forged = a.metrics({ deviceId: 'mirror-b' });
    await a.client.publishAsync(telemetryTopic(B), Buffer.from(JSON.stringify(forged)), { qos: 1 });
    await a.client.publishAsync(statusTopic(B), Buffer.from(JSON.stringify({ v: 1, state: 'offline', deviceId: 'mirror-b', storeId: 'paris-01', connectionSeq: 99, ts: 1, firmwareVersion: '1', models: {} })), { qos: 1 });
    await a.client.publishAsync(eventsTopic({ storeId: 'berlin-03', deviceId: 'mirror-a' }), Buffer.from(JSON.stringify({ v: 1, msgId: randomUUID(), deviceId: 'mirror-a', ts: 1, type: 'session.end', data: { sessionId: 's-1', dwellMs: 5, productsTried: 0, looksSaved: 0, reason: 'idle' } })), { qos: 1 });
    // Nor write fleet → device topics, even its own.
    await a.client.publishAsync(updateTopic(A, 'offer'), Buffer.from('{}'), { qos: 1 });
    // Its own message, published after the forged ones on the same connection, arrives; the
    // broker delivers in order, so had any forged one passed it would be in by now.
    const own = await a.sendEvent('session.end', { sessionId: 's-1', dwellMs: 5, productsTried: 0, looksSaved: 0, reason: 'idle' });
    await until(async () => (await svc.store.messages.counts()).events === 1);
    expect((await svc.store.devices.listDevices()).map((d) => `${d.storeId}/${d.deviceId}`)).toEqual(['paris-01/mirror-a']);
    expect((await svc.store.messages.counts()).metrics).toBe(0);
    expect(svc.ingest.stats().invalid).toBe(0);
    expect(own.msgId).toBeTruthy();
  });

  it('device A cannot read device B\'s update offers or commands', async () => {
    const got: string[] = [];
    a.client.on('message', (t) => got.push(t));
    await a.client.subscribeAsync([updateTopic(B, 'offer'), 'mirror/v1/paris-01/mirror-b/cmd/#', 'mirror/v1/#'], { qos: 1 }).catch(() => undefined);
    const fleet = await mqtt.connectAsync(broker.url, { clientId: `fleet-pub-${randomUUID().slice(0, 6)}`, ...(await broker.creds('fleet-service')) });
    await fleet.publishAsync(updateTopic(B, 'offer'), Buffer.from('{"for":"b"}'), { qos: 1 });
    await fleet.publishAsync('mirror/v1/paris-01/mirror-b/cmd/reboot', Buffer.from('{}'), { qos: 1 });
    await fleet.publishAsync(updateTopic(A, 'cancel'), Buffer.from('{"for":"a"}'), { qos: 1 });
    await until(() => got.includes(updateTopic(A, 'cancel')) || undefined);
    await fleet.endAsync();
    expect(got.filter((t) => t.includes('/mirror-b/'))).toEqual([]);
  });

  it('a client without a certificate from the fleet CA is refused', async () => {
    const c = mqtt.connect(broker.url, { ca: (await broker.creds('fleet-service')).ca, servername: 'localhost', reconnectPeriod: 0, connectTimeout: 5000 });
    const outcome = await new Promise<string>((resolve) => {
      c.once('connect', () => resolve('connected'));
      c.once('error', () => resolve('refused'));
      c.once('close', () => resolve('refused'));
    });
    c.end(true);
    expect(outcome).toBe('refused');
  });
});

/**
 * Two fleet service instances on one PostgreSQL store (the scaled-out setup; SQLite is one
 * process's file by design), real Mosquitto: a command sent
 * through either one is answered to its caller, its result stored once and audited once, though
 * both instances receive it. The mirror end is the real command agent (device/commands: guard,
 * signature, replay memory) on its own MQTT connection; only its host actions are trivial here
 * (the daemon's are exercised in command-roundtrip.test.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandAgent } from '../../device/commands/agent.ts';
import { channelFilter, parseTopic, resultTopic, statusTopic } from '../../fleet/protocol/topics.ts';
import { findMosquitto, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { dropPostgresSchema } from '../../fleet/service/store/postgres.ts';
import { PG_URL, pgRequired, startFleet, until, type TestService } from './support.ts';

const HAVE = findMosquitto() !== undefined && (await pgRequired());
const SCHEMA = `fleet_cmd_${randomBytes(4).toString('hex')}`;
const ME = { storeId: 'multi-store', deviceId: 'mirror-m1' };

describe.skipIf(!HAVE)('commands with two fleet service instances', { timeout: 90_000 }, () => {
  let broker: TestBroker;
  const svcs: TestService[] = [];
  let mirror: MqttClient;
  const work = mkdtempSync(path.join(os.tmpdir(), 'cmd-multi-'));

  beforeAll(async () => {
    broker = await startMosquitto();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(work, 'k.pem');
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const shared = { databaseUrl: PG_URL, databaseSchema: SCHEMA, commands: { keyId: 'k', privateKeyFile: keyFile, ttlS: 60, waitS: 30 }, mqtt: { url: broker.url } };
    svcs.push(await startFleet('postgres', shared));
    svcs.push(await startFleet('postgres', shared));

    mirror = await mqtt.connectAsync(broker.url, { clientId: 'multi-mirror' });
    const silent = { info: () => {}, warn: () => {}, error: () => {} };
    const agent = createCommandAgent({
      addr: ME,
      keys: new Map([['k', publicKey]]),
      stateDir: work,
      logger: silent,
      publish: async (r) => (await mirror.publishAsync(resultTopic(ME), Buffer.from(JSON.stringify(r)), { qos: 1 }), true),
      host: {
        restart: () => {},
        reload: () => ({ ok: true, applied: [], restartRequired: [] }),
        logs: () => ({ lines: ['{"msg":"hello"}'], truncated: false }),
        selfTest: async () => ({ passed: true, checks: [] }),
        setLogLevel: (level) => ({ level, previous: 'info', revertAt: 0 }),
      },
    });
    mirror.on('message', (topic, payload) => {
      const t = parseTopic(topic);
      if (t.ok && t.value.channel === 'cmd') agent.handle(t.value.subtopic[0], payload);
    });
    await mirror.subscribeAsync(channelFilter('cmd', ME), { qos: 1 });
    const birth = { v: 1, state: 'online', ...ME, connectionSeq: 1, ts: Date.now(), firmwareVersion: '1', models: {} };
    await mirror.publishAsync(statusTopic(ME), Buffer.from(JSON.stringify(birth)), { qos: 1, retain: true });
    await until(async () => (await svcs[0].store.devices.getDevice(ME.storeId, ME.deviceId))?.state === 'online');
  }, 90_000);

  afterAll(async () => {
    await mirror?.endAsync(true).catch(() => undefined);
    for (const s of svcs) await s.stop();
    await dropPostgresSchema(PG_URL, SCHEMA).catch(() => undefined);
    await broker?.stop();
  });

  it('either instance gets its answer; each result is stored and audited once', async () => {
    for (const [i, svc] of svcs.entries()) {
      const r = await svc.api('POST', `/api/devices/${ME.storeId}/${ME.deviceId}/commands`, { name: 'logs', args: { lines: 5 } });
      expect(r.status, `instance ${i}`).toBe(200);
      expect(r.body.command).toMatchObject({ status: 'ok', output: { lines: ['{"msg":"hello"}'], truncated: false } });
      // Both instances received the result; one stored it.
      await until(() => svcs.every((s) => s.commands.stats().results === i + 1));
      const audit = (await svc.api('GET', '/api/audit?action=command.result&limit=100')).body.audit as Array<{ detail: { commandId: string } }>;
      expect(audit.filter((a) => a.detail.commandId === r.body.command.id)).toHaveLength(1);
    }
    expect(svcs.reduce((n, s) => n + s.commands.stats().duplicateResults, 0)).toBe(2);
  });
});

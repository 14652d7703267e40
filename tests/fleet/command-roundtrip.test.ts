/**
 * Fleet commands end to end (issue 21 part 3): a real daemon (device/main.ts on the demo clip)
 * and the real fleet service, through the repository's own Mosquitto config and ACL (TLS, one
 * client certificate per mirror). Every command goes out through the `fleet cmd` CLI, signed by
 * the service's command key, and comes back with its result and its audit rows. Forged commands
 * (unsigned, badly signed, signed for another store or device, expired, replayed, malformed)
 * are published with the fleet's own broker identity, so only the mirror's checks stand between
 * them and the daemon: each gets a refusal result naming why, and has no effect. A mirror cannot
 * publish a command at all (broker ACL). `restart` is last: acknowledged, then the daemon exits
 * with the restart status.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import { commandSigningPayload, type Command, type CommandResult, type UnsignedCommand } from '../../fleet/protocol/commands.ts';
import { rawPublicKeyBase64 } from '../../fleet/protocol/signing.ts';
import { channelFilter, cmdTopic } from '../../fleet/protocol/topics.ts';
import { EXIT_RESTART } from '../../device/commands/agent.ts';
import { startFleet, until, type TestService } from './support.ts';
import { startTlsBroker, tlsBrokerAvailable, type TlsBroker } from './tls-broker.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';

const HAVE = tlsBrokerAvailable();
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the fleet command round trip');

const STORE = 'cmd-store';
const DEVICE = 'mirror-c1';
const ME = { storeId: STORE, deviceId: DEVICE };
const KEY_ID = 'fleet-cmd-test';

interface Audit {
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

describe.skipIf(!HAVE)('fleet commands on a real daemon through the TLS + ACL broker', { timeout: 180_000 }, () => {
  let broker: TlsBroker;
  let svc: TestService;
  let daemon: RunningDaemon;
  /** The fleet's broker identity, used to publish forged commands and to read results. */
  let forger: MqttClient;
  const results: CommandResult[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'fleet-cmd-'));
  const configFile = path.join(work, 'mirror.json');
  let fleetKey: KeyObject;
  let exited: Promise<{ code: number | null; signal: string | null }>;

  const mirrorConfig = (commandKey: KeyObject) => {
    const files = broker.files(`${STORE}/${DEVICE}`);
    return {
      source: `clip:${path.join(repoRoot, 'device/assets/demo-clip')}`,
      stateDir: path.join(work, 'state'),
      mqtt: { url: broker.url, ...ME, metricsIntervalMs: 1000, tls: { ca: files.caFile, cert: files.certFile, key: files.keyFile } },
      session: { idleTimeoutMs: 10_000 },
      // The fleet's command key, pinned on the mirror.
      commands: { publicKeys: { [KEY_ID]: rawPublicKeyBase64(commandKey) } },
    };
  };

  beforeAll(async () => {
    broker = await startTlsBroker([`${STORE}/${DEVICE}`, `other-store/${DEVICE}`]);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    fleetKey = privateKey;
    const keyFile = path.join(work, 'fleet-commands.key.pem');
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    svc = await startFleet('sqlite', {
      mqtt: { url: broker.url, clientId: 'fleet-service', ...broker.files('fleet-service') },
      commands: { keyId: KEY_ID, privateKeyFile: keyFile, ttlS: 120, waitS: 60 },
    });
    writeFileSync(configFile, JSON.stringify(mirrorConfig(publicKey)));
    daemon = await startDaemon({ args: ['--config', configFile], env: { MIRROR_STATE_DIR: path.join(work, 'state') }, timeoutMs: 120_000 });
    exited = new Promise((resolve) => daemon.child.once('exit', (code, signal) => resolve({ code, signal })));
    forger = await mqtt.connectAsync(broker.url, { clientId: `forger-${randomUUID().slice(0, 6)}`, ...(await broker.creds('fleet-service')) });
    forger.on('message', (_t, payload) => results.push(JSON.parse(payload.toString()) as CommandResult));
    await forger.subscribeAsync(channelFilter('result', ME), { qos: 1 });
    await until(async () => (await svc.store.devices.getDevice(STORE, DEVICE))?.state === 'online', 200);
  }, 180_000);

  /** CLI → service → broker → mirror → result → service → CLI, per command (printed, never asserted). */
  const timings: string[] = [];

  afterAll(async () => {
    if (timings.length) console.log(`[command-roundtrip] fleet cmd round trips (ms, load ${os.loadavg()[0].toFixed(1)}): ${timings.join(', ')}`);
    await forger?.endAsync(true).catch(() => undefined);
    await daemon?.stop('SIGKILL');
    await svc?.stop();
    await broker?.stop();
  });

  /** `fleet cmd ...` as an operator runs it; its exit code, stdout and the --json answer. */
  async function fleetCmd(args: string[]): Promise<{ code: number; out: string; err: string; command: any }> {
    let out = '';
    let err = '';
    const t0 = performance.now();
    const code = await runCli(['cmd', ...args, '--json'], { out: (s) => (out += s), err: (s) => (err += s), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token } });
    timings.push(`${args[1]} ${Math.round(performance.now() - t0)}`);
    return { code, out, err, command: out ? JSON.parse(out).command : undefined };
  }

  async function auditFor(commandId: string): Promise<Audit[]> {
    const audit = (await svc.api('GET', '/api/audit?limit=1000')).body.audit as Audit[];
    return audit.filter((a) => a.detail?.commandId === commandId);
  }

  /** Both audit rows of a command: sent by admin, and its result. */
  async function expectAudited(commandId: string, name: string, status: string): Promise<void> {
    const rows = await until(async () => {
      const r = await auditFor(commandId);
      return r.length === 2 && r;
    }, 100);
    expect(rows.find((a) => a.action === 'command.send')).toMatchObject({ actor: 'admin', target: `${STORE}/${DEVICE}`, detail: { name } });
    expect(rows.find((a) => a.action === 'command.result')).toMatchObject({ actor: 'admin', target: `${STORE}/${DEVICE}`, detail: { name, status } });
  }

  function signed(fields: Partial<UnsignedCommand> = {}, key: KeyObject = fleetKey): Command {
    const now = Date.now();
    const unsigned: UnsignedCommand = {
      v: 1,
      id: randomUUID(),
      name: 'log-level',
      args: { level: 'trace', durationS: 600 },
      ...ME,
      issuedAt: now,
      expiresAt: now + 60_000,
      nonce: randomBytes(16).toString('base64url'),
      issuedBy: 'mallory',
      keyId: KEY_ID,
      ...fields,
    };
    return { ...unsigned, signature: sign(null, commandSigningPayload(unsigned), key).toString('base64') };
  }

  /** Publishes raw bytes on this mirror's cmd/{name} as the fleet identity; the result for `id`. */
  async function forge(name: string, payload: unknown, id: string | null): Promise<CommandResult> {
    const n = results.length;
    await forger.publishAsync(cmdTopic(ME, name), Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), { qos: 1 });
    return until(() => results.slice(id === null ? n : 0).find((r) => r.commandId === id), 50);
  }

  /** No forged `log-level trace` took: the daemon never set it, and no trace line reached its log. */
  async function expectLevelUnchanged(): Promise<void> {
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'logs', 'lines=500']);
    expect(r.command.status).toBe('ok');
    expect((r.command.output.lines as string[]).some((l) => l.includes('"level":10'))).toBe(false);
    expect(daemon.logs.some((l) => l.msg === 'log level set by a fleet command' && l.newLevel === 'trace')).toBe(false);
  }

  it('self-test: models, camera, disk and broker checked on the mirror, each passing, with both audit rows', async () => {
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'self-test']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.command).toMatchObject({ name: 'self-test', status: 'ok', issuedBy: 'admin' });
    expect(r.command.output.passed).toBe(true);
    const checks = r.command.output.checks as Array<{ name: string; ok: boolean; detail: string }>;
    expect(checks.map((c) => c.name)).toEqual(['models', 'camera', 'disk', 'broker']);
    for (const c of checks) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
    expect(checks[0].detail).toMatch(/[1-9]\d* face\(s\)/);
    await expectAudited(r.command.id, 'self-test', 'ok');
    // What an operator reads without --json: one PASS line per check.
    let human = '';
    expect(await runCli(['cmd', `${STORE}/${DEVICE}`, 'self-test'], { out: (s) => (human += s), err: (s) => (human += s), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token } })).toBe(0);
    expect(human).toMatch(new RegExp(`^self-test on ${STORE}/${DEVICE} \\([0-9a-f-]{36}, sent by admin\\): ok\\n`));
    for (const name of ['models', 'camera', 'disk', 'broker']) expect(human).toMatch(new RegExp(`PASS  ${name}`));
  });

  it('logs: the last N lines, with addresses, credentials and keys redacted', async () => {
    // The daemon's own log holds the broker URL with its loopback address...
    expect(daemon.logs.some((l) => JSON.stringify(l).includes('127.0.0.1'))).toBe(true);
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'logs', 'lines=200']);
    expect(r.code).toBe(0);
    const lines = r.command.output.lines as string[];
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.length).toBeLessThanOrEqual(200);
    expect(lines.some((l) => l.includes('"msg":"MQTT connected"'))).toBe(true);
    // ...which the fleet never receives.
    for (const l of lines) expect(l).not.toMatch(/\b\d{1,3}(\.\d{1,3}){3}\b/);
    expect(lines.some((l) => l.includes('[ip]'))).toBe(true);
    await expectAudited(r.command.id, 'logs', 'ok');
  });

  it('log-level: raised for a while, then back by itself', async () => {
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'log-level', 'level=debug', 'durationS=2']);
    expect(r.code).toBe(0);
    expect(r.command.output).toMatchObject({ level: 'debug', previous: 'info' });
    await until(() => daemon.logs.find((l) => l.msg === 'log level reverted'), 100);
    expect(daemon.logs.find((l) => l.msg === 'log level reverted')).toMatchObject({ restored: 'info' });
    await expectAudited(r.command.id, 'log-level', 'ok');
  });

  it('reload-config: the file re-read, hot keys applied, the others reported as needing a restart', async () => {
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    config.session.idleTimeoutMs = 20_000;
    config.mqtt.metricsIntervalMs = 2000;
    writeFileSync(configFile, JSON.stringify(config));
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'reload-config']);
    expect(r.code).toBe(0);
    expect(r.command.output).toEqual({ applied: ['session.idleTimeoutMs'], restartRequired: ['mqtt.metricsIntervalMs'] });
    await expectAudited(r.command.id, 'reload-config', 'ok');
    // A broken file: refused by the mirror naming the key, nothing changes.
    writeFileSync(configFile, JSON.stringify({ ...config, session: { idleTimeoutMs: -1 } }));
    const bad = await fleetCmd([`${STORE}/${DEVICE}`, 'reload-config']);
    expect(bad.code).toBe(1);
    expect(bad.command).toMatchObject({ status: 'failed' });
    expect(bad.command.error).toMatch(/session\.idleTimeoutMs/);
    writeFileSync(configFile, JSON.stringify(config));
  });

  it('bad arguments are refused by the API naming the field, before anything is sent', async () => {
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'logs', 'lines=-1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/args\.lines/);
    const unknown = await svc.api('POST', `/api/devices/${STORE}/${DEVICE}/commands`, { name: 'log-level', args: { level: 'loud', durationS: 5 } });
    expect(unknown).toMatchObject({ status: 400, body: { error: { field: 'args.level' } } });
  });

  it('an unsigned command is refused with a result saying so, and does nothing', async () => {
    const c = signed();
    const { signature: _s, ...unsigned } = c;
    const res = await forge('log-level', unsigned, c.id);
    expect(res).toMatchObject({ status: 'refused', reason: 'unsigned', field: 'signature', storeId: STORE, deviceId: DEVICE });
    const restart = signed({ name: 'restart', args: {} });
    const { signature: _r, ...unsignedRestart } = restart;
    expect(await forge('restart', unsignedRestart, restart.id)).toMatchObject({ status: 'refused', reason: 'unsigned' });
    await expectLevelUnchanged();
    expect(daemon.child.exitCode).toBeNull();
  });

  it('a command signed for another store or device is refused (wrong-target), and does nothing', async () => {
    const foreignStore = signed({ storeId: 'other-store' });
    expect(await forge('log-level', foreignStore, foreignStore.id)).toMatchObject({ status: 'refused', reason: 'wrong-target', field: 'storeId' });
    const foreignDevice = signed({ deviceId: 'mirror-c2' });
    expect(await forge('log-level', foreignDevice, foreignDevice.id)).toMatchObject({ status: 'refused', reason: 'wrong-target', field: 'deviceId' });
    const restartElsewhere = signed({ name: 'restart', args: {}, storeId: 'other-store' });
    expect(await forge('restart', restartElsewhere, restartElsewhere.id)).toMatchObject({ status: 'refused', reason: 'wrong-target' });
    await expectLevelUnchanged();
    expect(daemon.child.exitCode).toBeNull();
    // And the API will not let a manager of another store send one.
    await svc.api('POST', '/api/users', { username: 'other-mgr', password: 'manager-password-1', role: 'manager', storeId: 'other-store' });
    const login = await svc.api('POST', '/api/login', { username: 'other-mgr', password: 'manager-password-1' }, null);
    const denied = await svc.api('POST', `/api/devices/${STORE}/${DEVICE}/commands`, { name: 'restart' }, login.body.token);
    expect(denied.status).toBe(403);
  });

  it('a tampered, wrongly keyed, expired or malformed command is refused naming why', async () => {
    const tampered = { ...signed(), args: { level: 'trace', durationS: 601 } };
    expect(await forge('log-level', tampered, tampered.id)).toMatchObject({ status: 'refused', reason: 'bad-signature', field: 'signature' });
    const otherKey = signed({}, generateKeyPairSync('ed25519').privateKey);
    expect(await forge('log-level', otherKey, otherKey.id)).toMatchObject({ status: 'refused', reason: 'bad-signature' });
    const unknownKey = signed({ keyId: 'someone-else' });
    expect(await forge('log-level', unknownKey, unknownKey.id)).toMatchObject({ status: 'refused', reason: 'unknown-key', field: 'keyId' });
    const old = Date.now() - 3_600_000;
    const expired = signed({ issuedAt: old, expiresAt: old + 60_000 });
    expect(await forge('log-level', expired, expired.id)).toMatchObject({ status: 'refused', reason: 'expired', field: 'expiresAt' });
    const badArgs = signed({ name: 'logs', args: { lines: 0 } });
    expect(await forge('logs', badArgs, badArgs.id)).toMatchObject({ status: 'refused', reason: 'bad-command', field: 'args.lines' });
    expect(await forge('logs', '{not json', null)).toMatchObject({ status: 'refused', reason: 'bad-command', field: '(payload)', commandId: null });
    await expectLevelUnchanged();
    expect(daemon.child.exitCode).toBeNull();
  });

  it('a replayed command is refused; the first delivery ran once', async () => {
    const c = signed({ name: 'self-test', args: {} });
    const first = await forge('self-test', c, c.id);
    expect(first).toMatchObject({ status: 'ok', name: 'self-test' });
    const n = results.length;
    await forger.publishAsync(cmdTopic(ME, 'self-test'), Buffer.from(JSON.stringify(c)), { qos: 1 });
    const again = await until(() => results.slice(n).find((r) => r.commandId === c.id), 50);
    expect(again).toMatchObject({ status: 'refused', reason: 'replayed', field: 'id' });
    // A fresh id with the same nonce is a replay too.
    const sameNonce = signed({ name: 'self-test', args: {}, nonce: c.nonce });
    expect(await forge('self-test', sameNonce, sameNonce.id)).toMatchObject({ status: 'refused', reason: 'replayed', field: 'nonce' });
  });

  it('a mirror cannot publish a command, not to another mirror nor to itself (broker ACL)', async () => {
    // Validly signed (as if the key had leaked), so only the ACL stands in the way.
    const toOther = signed({ name: 'self-test', args: {} });
    const toSelf = signed({ name: 'self-test', args: {} });
    const other = await mqtt.connectAsync(broker.url, { clientId: `dev-forge-${randomUUID().slice(0, 6)}`, ...(await broker.creds(`other-store/${DEVICE}`)) });
    await other.publishAsync(cmdTopic(ME, 'self-test'), Buffer.from(JSON.stringify(toOther)), { qos: 1 });
    await other.endAsync();
    // The mirror's own identity (a second connection with its certificate) on its own cmd/ topic.
    const self = await mqtt.connectAsync(broker.url, { clientId: `self-forge-${randomUUID().slice(0, 6)}`, ...(await broker.creds(`${STORE}/${DEVICE}`)) });
    await self.publishAsync(cmdTopic(ME, 'self-test'), Buffer.from(JSON.stringify(toSelf)), { qos: 1 });
    await self.endAsync();
    // A command sent after them through the fleet is answered; neither forged one reached the mirror.
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'self-test']);
    expect(r.command.status).toBe('ok');
    // The mirror runs commands in arrival order: once its log shows this one done, any earlier one would show too.
    await until(() => daemon.logs.some((l) => l.msg === 'commands: done' && l.commandId === r.command.id), 50);
    await until(() => results.some((x) => x.commandId === r.command.id), 50);
    expect(results.filter((x) => x.commandId === toOther.id || x.commandId === toSelf.id)).toEqual([]);
    expect(daemon.logs.filter((l) => l.commandId === toOther.id || l.commandId === toSelf.id)).toEqual([]);
  });

  it('restart: acknowledged first, then the daemon stops cleanly with the restart status', async () => {
    const r = await fleetCmd([`${STORE}/${DEVICE}`, 'restart']);
    expect(r.code).toBe(0);
    expect(r.command).toMatchObject({ status: 'ok', output: { exitCode: EXIT_RESTART } });
    const { code, signal } = await exited;
    expect({ code, signal }).toEqual({ code: EXIT_RESTART, signal: null });
    // The broker acknowledged the result before the daemon began to stop.
    const at = (pred: (l: Record<string, unknown>) => boolean) => daemon.logs.findIndex(pred);
    const done = at((l) => l.msg === 'commands: done' && l.commandId === r.command.id);
    expect(daemon.logs[done]).toMatchObject({ delivered: true });
    expect(done).toBeLessThan(at((l) => l.msg === 'stopping' && l.signal === 'restart-command'));
    expect(daemon.logs.find((l) => l.msg === 'stopped')).toMatchObject({ exitCode: EXIT_RESTART });
    await expectAudited(r.command.id, 'restart', 'ok');
  });
});

/**
 * The mirror's own broker on a real install (systemd/broker/): Mosquitto started with THE config
 * file install.sh installs (only its port, file paths and, under root, the privilege drop adapted
 * to a temp dir), credentials made by the script install.sh runs, and the real daemon connecting
 * with the environment file that script wrote.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, repoRoot, type RunningDaemon } from '../helpers/daemon.ts';
import { findMosquitto, freePort } from '../../fleet/sim/broker.ts';

const brokerDir = path.join(repoRoot, 'systemd', 'broker');
const bin = findMosquitto();

/** The installed config with exactly these edits; each must match once so a config change is seen. */
function adaptConfig(dir: string, port: number): string {
  let text = readFileSync(path.join(brokerDir, 'mosquitto.conf'), 'utf8');
  const edits: Array<[string, string]> = [
    ['password_file /etc/smart-mirror/broker/passwd', `password_file ${dir}/passwd`],
    ['acl_file /etc/smart-mirror/broker/acl', `acl_file ${dir}/acl`],
    ['listener 1883 127.0.0.1', `listener ${port} 127.0.0.1`],
    ['persistence_location /var/lib/mirror-broker/', `persistence_location ${dir}/data/`],
  ];
  for (const [from, to] of edits) {
    expect(text.split(from).length - 1, from).toBe(1);
    text = text.replace(from, to);
  }
  // systemd starts it as mirror-broker; mosquitto started as root would switch to user
  // "mosquitto", who cannot read this root-only temp dir.
  if (process.getuid?.() === 0) text += '\nuser root\n';
  return text;
}

function readEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const connect = (url: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> =>
  mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts });

describe.skipIf(!bin)('mirror broker (Mosquitto with systemd/broker/mosquitto.conf)', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let env: Record<string, string>;
  const clients: MqttClient[] = [];
  let daemon: RunningDaemon | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-broker-'));
    mkdirSync(path.join(dir, 'data'));
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    writeFileSync(path.join(dir, 'mirror.env'), 'PORT=8080\nMQTT_URL=mqtt://old.example:1883\n');
    const made = spawnSync(path.join(brokerDir, 'make-credentials.sh'), [`${dir}/passwd`, `${dir}/mirror.env`, 'mirror-daemon', url], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    // A second valid account that the ACL grants nothing: what a stray local client could get.
    const extra = spawnSync('mosquitto_passwd', ['-b', `${dir}/passwd`, 'intruder', 'intruder-pw'], { encoding: 'utf8' });
    expect(extra.status, extra.stderr).toBe(0);
    copyFileSync(path.join(brokerDir, 'acl'), path.join(dir, 'acl'));
    writeFileSync(path.join(dir, 'mosquitto.conf'), adaptConfig(dir, port));
    env = readEnv(path.join(dir, 'mirror.env'));
    child = spawn(bin!, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mosquitto did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 20_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await daemon?.stop();
    child?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const asDaemon = async (): Promise<MqttClient> => {
    const c = await connect(url, { username: env.MQTT_USERNAME, password: env.MQTT_PASSWORD });
    clients.push(c);
    return c;
  };

  it('install credentials: passwd and mirror.env are 0640; mirror.env keeps its lines and points at the local broker', () => {
    expect(statSync(path.join(dir, 'passwd')).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(dir, 'mirror.env')).mode & 0o777).toBe(0o640);
    expect(env.PORT).toBe('8080');
    expect(env.MQTT_URL).toBe(url);
    expect(env.MQTT_USERNAME).toBe('mirror-daemon');
    expect(env.MQTT_PASSWORD).toMatch(/^[A-Za-z0-9]{24,}$/);
    // Hashed, never in clear, in the broker's file.
    expect(readFileSync(path.join(dir, 'passwd'), 'utf8')).not.toContain(env.MQTT_PASSWORD);
  });

  it('an anonymous local client is refused, and so is a wrong password', async () => {
    await expect(connect(url)).rejects.toThrow(/Not authorized|Bad username or password/i);
    await expect(connect(url, { username: 'mirror-daemon', password: 'guess' })).rejects.toThrow(/Not authorized|Bad username or password/i);
  });

  it('a local account the ACL does not name can neither read the mirror topics nor publish an update offer', async () => {
    const intruder = await connect(url, { username: 'intruder', password: 'intruder-pw' });
    clients.push(intruder);
    await intruder.subscribeAsync('mirror/v1/#', { qos: 1 });
    const seenByIntruder: string[] = [];
    intruder.on('message', (topic) => seenByIntruder.push(topic));
    const daemonSide = await asDaemon();
    const seenByDaemon: string[] = [];
    daemonSide.on('message', (topic) => seenByDaemon.push(topic));
    await daemonSide.subscribeAsync('mirror/v1/#', { qos: 1 });
    await intruder.publishAsync('mirror/v1/demo-store/mirror-1/update/offer', '{"forged":true}', { qos: 1 });
    // The marker goes through the same broker after the forged offer: once it is seen, the offer
    // would have been too.
    await daemonSide.publishAsync('mirror/v1/demo-store/mirror-1/telemetry', '{"marker":1}', { qos: 1 });
    await waitUntil(() => seenByDaemon.includes('mirror/v1/demo-store/mirror-1/telemetry'));
    expect(seenByDaemon).not.toContain('mirror/v1/demo-store/mirror-1/update/offer');
    expect(seenByIntruder).toEqual([]);
  });

  it('an oversize publish (300 KiB > max_packet_size) is dropped and its sender disconnected', async () => {
    const sub = await asDaemon();
    const seen: Array<{ topic: string; bytes: number }> = [];
    sub.on('message', (topic, payload) => seen.push({ topic, bytes: payload.length }));
    await sub.subscribeAsync('mirror/v1/+/+/events', { qos: 1 });
    const big = await asDaemon();
    let closed = false;
    big.once('close', () => (closed = true));
    big.publish('mirror/v1/demo-store/mirror-1/events', Buffer.alloc(300 * 1024, 0x61), { qos: 0 });
    await waitUntil(() => closed);
    const small = await asDaemon();
    await small.publishAsync('mirror/v1/demo-store/mirror-1/events', Buffer.alloc(1024, 0x62), { qos: 1 });
    await waitUntil(() => seen.length > 0);
    expect(seen).toEqual([{ topic: 'mirror/v1/demo-store/mirror-1/events', bytes: 1024 }]);
  });

  it("the real daemon connects with mirror.env's credentials and publishes its retained birth", async () => {
    daemon = await startDaemon({ env: { MQTT_URL: env.MQTT_URL, MQTT_USERNAME: env.MQTT_USERNAME, MQTT_PASSWORD: env.MQTT_PASSWORD }, timeoutMs: 150_000 });
    const sub = await asDaemon();
    const births: unknown[] = [];
    sub.on('message', (_topic, payload) => births.push(JSON.parse(payload.toString())));
    await sub.subscribeAsync('mirror/v1/demo-store/mirror-1/status', { qos: 1 });
    await waitUntil(() => births.some((b) => (b as { state?: string }).state === 'online'), 60_000);
    const health = (await (await fetch(`${daemon.url}/healthz`)).json()) as { mqtt: { connected: boolean; embedded: boolean } };
    expect(health.mqtt).toMatchObject({ connected: true, embedded: false });
  }, 240_000);
});

async function waitUntil(probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The machine-health sampler (device/telemetry/system-metrics.ts) against fixture /proc and /sys
 * trees in a temp dir (a Jetson, a Jetson Orin, an AMD desktop, a bare host), the protocol schema
 * for `system`, and the agent: a host without any of the files gives no `system` and no error; a
 * sensor reading nonsense costs only the `system` field, never the metrics message.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSystemSampler, parseProcStat, thermalToCelsius, zoneKey } from '../../device/telemetry/system-metrics.ts';
import { createTelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { Outbox } from '../../device/telemetry/outbox.ts';
import { encodeMessage, parseMessage, type MetricsMessage } from '../../fleet/protocol/schemas.ts';
import { recordingLogger, sleep, tempDir } from './support.ts';

const dirs: Array<{ remove(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dirs) await d.remove();
});

async function tree(files: Record<string, string>): Promise<string> {
  const d = await tempDir('mirror-sysfs-');
  dirs.push(d);
  for (const [rel, text] of Object.entries(files)) {
    const f = path.join(d.dir, rel);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, text);
  }
  return d.dir;
}

const STAT_1 = 'cpu  1000 0 500 8000 500 0 0 0 0 0\ncpu0 500 0 250 4000 250 0 0 0 0 0\nintr 1 2 3\n';
// +600 busy (user 400, system 200) and +400 idle (idle 300, iowait 100): 60 % busy.
const STAT_2 = 'cpu  1400 0 700 8300 600 0 0 0 0 0\ncpu0 700 0 350 4150 300 0 0 0 0 0\nintr 1 2 3\n';
const MEMINFO = 'MemTotal:        8039224 kB\nMemFree:          612340 kB\nMemAvailable:    5123456 kB\nBuffers:           12345 kB\n';

const baseProc = { 'proc/stat': STAT_1, 'proc/loadavg': '1.52 0.98 0.40 3/512 12345\n', 'proc/meminfo': MEMINFO };

describe('system metrics sampler', () => {
  it('a Jetson (Xavier): CPU from /proc/stat deltas, load, memory, thermal zones by type, GPU load 0..1000 and GPU-therm', async () => {
    const root = await tree({
      ...baseProc,
      'sys/class/thermal/thermal_zone0/type': 'CPU-therm\n',
      'sys/class/thermal/thermal_zone0/temp': '45500\n',
      'sys/class/thermal/thermal_zone1/type': 'GPU-therm\n',
      'sys/class/thermal/thermal_zone1/temp': '47000\n',
      'sys/class/thermal/thermal_zone2/type': 'AUX-therm\n',
      'sys/class/thermal/thermal_zone2/temp': '-274000\n', // an unconnected sensor: dropped
      'sys/class/thermal/thermal_zone3/type': 'CPU-therm\n', // a repeated type keeps both
      'sys/class/thermal/thermal_zone3/temp': '46000\n',
      'sys/class/thermal/thermal_zone4/type': 'PMIC-Die\n',
      'sys/class/thermal/thermal_zone4/temp': 'garbage\n', // unreadable: dropped
      'sys/class/thermal/cooling_device0/type': 'fan\n',
      'sys/devices/gpu.0/load': '537\n',
    });
    const sampler = createSystemSampler({ root });
    await writeFile(path.join(root, 'proc/stat'), STAT_2);
    const s = sampler.sample();
    expect(s).toEqual({
      cpuLoad: 0.6,
      load1: 1.52,
      load5: 0.98,
      load15: 0.4,
      memTotalBytes: 8039224 * 1024,
      memAvailableBytes: 5123456 * 1024,
      temperaturesC: { 'CPU-therm': 45.5, 'GPU-therm': 47, 'CPU-therm-zone3': 46 },
      gpuLoad: 0.537,
      gpuTemperatureC: 47,
    });
    // Valid under the protocol schema as the `system` field of a metrics message.
    const enc = encodeMessage('metrics', metricsWith(s));
    expect(enc.ok).toBe(true);
    // No time passed between samples: no CPU figure rather than a made-up one.
    expect(sampler.sample().cpuLoad).toBeUndefined();
  });

  it('a Jetson Orin (GPU load under the platform bus) and /sys/devices/platform/gpu.0', async () => {
    const orin = createSystemSampler({ root: await tree({ 'sys/devices/platform/bus@0/17000000.gpu/load': '1000\n' }) }).sample();
    expect(orin).toEqual({ gpuLoad: 1 });
    const jp5 = createSystemSampler({ root: await tree({ 'sys/devices/platform/17000000.ga10b/load': '250\n' }) }).sample();
    expect(jp5).toEqual({ gpuLoad: 0.25 });
    const nano = createSystemSampler({ root: await tree({ 'sys/devices/platform/gpu.0/load': '0\n' }) }).sample();
    expect(nano).toEqual({ gpuLoad: 0 });
  });

  it('an AMD desktop GPU: gpu_busy_percent and its hwmon temperature; x86 package temperature', async () => {
    const root = await tree({
      'sys/class/thermal/thermal_zone0/type': 'x86_pkg_temp\n',
      'sys/class/thermal/thermal_zone0/temp': '61000\n',
      'sys/class/thermal/thermal_zone1/type': 'acpi tz (weird)\n',
      'sys/class/thermal/thermal_zone1/temp': '27800\n',
      'sys/class/drm/card0/device/gpu_busy_percent': '35\n',
      'sys/class/drm/card0/device/hwmon/hwmon3/temp1_input': '58000\n',
      'sys/class/drm/card0-HDMI-A-1/status': 'connected\n',
    });
    expect(createSystemSampler({ root }).sample()).toEqual({
      temperaturesC: { x86_pkg_temp: 61, 'acpi_tz_weird_': 27.8 },
      gpuLoad: 0.35,
      gpuTemperatureC: 58,
    });
  });

  it('a host without any of these files: no fields and no error', async () => {
    const root = await tree({ 'etc/hostname': 'bare\n' });
    const sampler = createSystemSampler({ root });
    expect(sampler.sample()).toEqual({});
    expect(sampler.sample()).toEqual({});
    expect(createSystemSampler({ root: path.join(root, 'does-not-exist') }).sample()).toEqual({});
  });

  it('parsers: odd /proc/stat, degrees vs millidegrees, zone keys', () => {
    expect(parseProcStat('intr 1 2\n')).toBeUndefined();
    expect(parseProcStat('cpu  1 2\n')).toBeUndefined();
    expect(parseProcStat('cpu  10 0 5 100\n')).toEqual({ busy: 15, total: 115 });
    expect(thermalToCelsius(45123)).toBe(45.1);
    expect(thermalToCelsius(52)).toBe(52); // a driver reporting whole degrees
    expect(thermalToCelsius(-274000)).toBeUndefined();
    expect(thermalToCelsius(255000)).toBeUndefined();
    expect(zoneKey(undefined, 'thermal_zone7')).toBe('thermal_zone7');
    expect(zoneKey('  ', 'thermal_zone7')).toBe('thermal_zone7');
    expect(zoneKey('-cpu-thermal', 'thermal_zone0')).toBe('cpu-thermal');
  });

  it('this machine: whatever it exposes is valid for the schema', () => {
    const sampler = createSystemSampler();
    const busyUntil = Date.now() + 30;
    while (Date.now() < busyUntil) Math.sqrt(Math.random()); // let the jiffies move
    const s = sampler.sample();
    console.log(`[system-metrics] this host reports ${JSON.stringify(s)}`);
    expect(encodeMessage('metrics', metricsWith(s)).ok).toBe(true);
    if (s.cpuLoad !== undefined) expect(s.cpuLoad).toBeGreaterThanOrEqual(0);
  });
});

function metricsWith(system: MetricsMessage['system']): MetricsMessage {
  return {
    v: 1,
    msgId: '7b4f3c1e-8a52-4a55-9c53-1d4b5f0b2a11',
    deviceId: 'mirror-1',
    ts: Date.now(),
    intervalS: 10,
    fps: 30,
    latencyP50Ms: 20,
    latencyP95Ms: 30,
    droppedFrames: 0,
    processedFrames: 10,
    backends: {},
    models: {},
    uptimeS: 1,
    rssBytes: 1,
    ...(system === undefined ? {} : { system }),
  };
}

describe('system in the metrics message', () => {
  it('the schema bounds every field and keeps old messages valid', () => {
    const json = (m: unknown) => JSON.stringify(m);
    const topic = 'mirror/v1/store-1/mirror-1/telemetry';
    expect(parseMessage(topic, json(metricsWith(undefined))).ok).toBe(true);
    const bad: Array<[MetricsMessage['system'], string]> = [
      [{ cpuLoad: 1.5 }, 'system.cpuLoad'],
      [{ gpuLoad: -0.1 }, 'system.gpuLoad'],
      [{ gpuTemperatureC: 500 }, 'system.gpuTemperatureC'],
      [{ temperaturesC: { __proto__x: 40 } }, 'system.temperaturesC'],
      [{ temperaturesC: { cpu: 900 } }, 'system.temperaturesC.cpu'],
      [{ memTotalBytes: 1.5 }, 'system.memTotalBytes'],
    ];
    for (const [system, field] of bad) {
      const r = parseMessage(topic, json(metricsWith(system)));
      expect(r.ok, field).toBe(false);
      if (!r.ok) expect(r.field.startsWith(field.split('.').slice(0, 2).join('.')), `${field}: ${r.error}`).toBe(true);
    }
  });

  async function queuedMetrics(systemMetrics: Parameters<typeof createTelemetryAgent>[0]['systemMetrics']): Promise<{ messages: MetricsMessage[]; logger: ReturnType<typeof recordingLogger> }> {
    const state = await tempDir('mirror-sys-agent-');
    dirs.push(state);
    const logger = recordingLogger();
    const outbox = new Outbox({ file: path.join(state.dir, 'outbox.sqlite'), logger });
    // No broker at all: metrics go to the outbox, where they can be read back.
    const agent = createTelemetryAgent({
      url: 'mqtt://127.0.0.1:1',
      storeId: 'store-1',
      deviceId: 'mirror-1',
      firmwareVersion: 'test',
      intervalMs: 100,
      stateDir: state.dir,
      snapshot: () => ({ fps: 30, latencyP50Ms: 20, latencyP95Ms: 30, droppedFrames: 0, processedFrames: 1, backends: {}, models: {} }),
      logger,
      outbox,
      startTimeoutMs: 200,
      reconnect: { initialMs: 60_000, maxMs: 60_000 },
      ...(systemMetrics === undefined ? {} : { systemMetrics }),
    });
    try {
      await agent.start();
      for (let i = 0; i < 100 && outbox.stats().pending < 2; i++) await sleep(50);
      outbox.flush(); // the last batch is committed within 50 ms; read it now
      const messages = outbox.after(0, 10).map((r) => {
        const p = parseMessage(r.topic, r.payload);
        if (!p.ok || p.kind !== 'metrics') throw new Error(`not metrics: ${JSON.stringify(p)}`);
        return p.value;
      });
      expect(messages.length).toBeGreaterThanOrEqual(2);
      return { messages, logger };
    } finally {
      await agent.stop();
      outbox.close();
    }
  }

  it('the agent sends what the sampler reads (by default this host\'s /proc and /sys)', async () => {
    const fixed = { cpuLoad: 0.25, load1: 0.5, temperaturesC: { 'CPU-therm': 41.5 }, gpuLoad: 0.1, gpuTemperatureC: 40 };
    const { messages } = await queuedMetrics(() => fixed);
    expect(messages[0].system).toEqual(fixed);
    const host = await queuedMetrics(undefined);
    // Linux always has /proc/meminfo; elsewhere the field is simply absent.
    if (process.platform === 'linux') expect(host.messages[0].system?.memTotalBytes).toBeGreaterThan(0);
  });

  it('a host without the files, a sampler that throws or reads nonsense: metrics still flow, without `system`', async () => {
    const bare = createSystemSampler({ root: await tree({}) });
    const none = await queuedMetrics(() => bare.sample());
    expect(none.messages.every((m) => m.system === undefined)).toBe(true);
    expect(none.logger.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg)).not.toContain(
      'system metrics failed validation; sent without them',
    );

    const threw = await queuedMetrics(() => {
      throw new Error('sensor bus hung');
    });
    expect(threw.messages.every((m) => m.system === undefined && m.fps === 30)).toBe(true);
    expect(threw.logger.lines.filter((l) => l.msg?.startsWith('system metrics sampler threw'))).toHaveLength(1);

    const nonsense = await queuedMetrics(() => ({ gpuLoad: 7, load1: 1 }));
    expect(nonsense.messages.every((m) => m.system === undefined && m.fps === 30)).toBe(true);
    expect(nonsense.logger.lines.filter((l) => l.msg === 'system metrics failed validation; sent without them')).toHaveLength(1);

    const off = await queuedMetrics(false);
    expect(off.messages.every((m) => m.system === undefined)).toBe(true);
  });
});

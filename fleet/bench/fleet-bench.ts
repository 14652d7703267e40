/**
 * `npm run bench:fleet`: N simulated mirrors (default 5,000, light MQTT clients in this process)
 * against a real Mosquitto (embedded aedes only where none is installed) and the fleet service
 * (a child process, its own event loop, SQLite by default or BENCH_DATABASE_URL). Each device
 * sends one metrics message per 5 s plus shopper events (a session every ~30 s: start, products
 * tried, sometimes a look saved, end). Bounded in time (BENCH_SECONDS, default 90), loopback only.
 *
 * Part way (BENCH_STORM_AT seconds, default a third of the run; 0 = none) the broker is restarted
 * (SIGTERM, down BENCH_OUTAGE_MS, default 3 s, then up again with its persistence file) and every
 * mirror reconnects at once: the reconnect storm. Nothing may be lost: every message a device had
 * acknowledged by the broker must be in the store at the end.
 *
 * Reports messages, loss (must be 0), ingest lag (device timestamp → stored) p50/p95/max, the
 * storm's reconnect times, the load average and the CPU time of the bench and of the service.
 * The npm script runs it under `nice -n 10` (the machine is shared).
 *
 * Length: main (~90 lines) is the bench's straight-line sequence; the phases are helpers.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { printTable } from '../../device/bench/table.ts';
import { fleetClient } from '../cli/client.ts';
import { IngestAnswer, LoginAnswer } from '../cli/responses.ts';
import { freePort, startMosquitto, type TestBroker } from '../sim/broker.ts';
import { SimDevice } from '../sim/device-sim.ts';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 90);
const STORM_AT_S = Number(process.env.BENCH_STORM_AT ?? Math.round(SECONDS / 3));
const OUTAGE_MS = Number(process.env.BENCH_OUTAGE_MS ?? 3000);
/** How long the store may take to catch up after the last publish before what is missing counts as lost. */
const DRAIN_S = Number(process.env.BENCH_DRAIN_S ?? 900);
const METRICS_MS = 5000;
const SESSION_MS = 30_000;
const ROOT = path.resolve(import.meta.dirname, '../..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench:fleet] ${s}\n`);
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');

/** CPU seconds (user + system) a child process has used, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** Publishes in flight and their outcomes, across every device. */
const pubs = { attempted: 0, acked: 0, failed: 0 };
function track(p: Promise<unknown>): void {
  pubs.attempted++;
  p.then(
    () => void pubs.acked++,
    () => void pubs.failed++,
  );
}

function startService(broker: TestBroker, dir: string, port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'fleet/service/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      FLEET_PORT: String(port),
      FLEET_SQLITE_PATH: path.join(dir, 'fleet.db'),
      FLEET_ARTIFACT_DIR: path.join(dir, 'artifacts'),
      DATABASE_URL: process.env.BENCH_DATABASE_URL ?? '',
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: 'fleet-bench-ingest',
      FLEET_BOOTSTRAP_ADMIN: 'bench:bench-password-1',
      LOG_LEVEL: 'warn',
    },
  });
}

/** Every device sends metrics every 5 s and a shopper session every ~30 s until `end`; returns the timers. */
function drive(devices: SimDevice[], end: number): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const later = (fn: () => void, ms: number) => void timers.push(setTimeout(fn, ms));
  for (const d of devices) {
    // Random phase so the load is spread, as a real fleet's would be.
    const tick = () => {
      if (Date.now() >= end) return;
      track(d.sendMetrics());
      later(tick, METRICS_MS);
    };
    later(tick, Math.random() * METRICS_MS);
    const session = () => {
      if (Date.now() >= end) return;
      const sessionId = randomUUID();
      const saved = Math.random() < 0.3;
      track(d.sendEvent('session.start', { sessionId }));
      for (let k = 0; k < 2; k++) track(d.sendEvent('product.tried', { sessionId, productId: `lip-${Math.floor(Math.random() * 40)}` }));
      if (saved) track(d.sendEvent('look.saved', { sessionId, lookId: randomUUID(), products: 1, productIds: 'lip-7' }));
      track(d.sendEvent('session.end', { sessionId, dwellMs: Math.round(20_000 + Math.random() * 60_000), productsTried: 2, looksSaved: saved ? 1 : 0, reason: 'idle' }));
      later(session, SESSION_MS * (0.5 + Math.random()));
    };
    later(session, Math.random() * SESSION_MS);
  }
  return timers;
}

/** Restarts the broker and measures how long until every mirror (and the ingest) is connected again. */
async function storm(broker: TestBroker, devices: SimDevice[], ingestConnected: () => Promise<boolean>): Promise<{ mirrorsBackMs: number; ingestBackMs: number }> {
  if (!broker.restart) throw new Error('the reconnect storm needs Mosquitto (the aedes fallback cannot restart)');
  log(`reconnect storm: restarting the broker (down ${OUTAGE_MS} ms)`);
  const t0 = Date.now();
  await broker.restart(OUTAGE_MS);
  let ingestBackMs = -1;
  for (;;) {
    const back = devices.filter((d) => d.client.connected).length;
    if (ingestBackMs < 0 && (await ingestConnected().catch(() => false))) ingestBackMs = Date.now() - t0;
    if (back === devices.length && ingestBackMs >= 0) break;
    if (Date.now() - t0 > 180_000) throw new Error(`after 180 s only ${back}/${devices.length} mirrors reconnected`);
    await sleep(100);
  }
  const mirrorsBackMs = Date.now() - t0;
  log(`all ${devices.length} mirrors back ${mirrorsBackMs} ms after the restart began; ingest back at ${ingestBackMs} ms`);
  return { mirrorsBackMs, ingestBackMs };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-bench-'));
  const broker = await startMosquitto({ scale: true });
  log(`broker: ${broker.kind} at ${broker.url}; load average ${loadavg()}`);
  const port = await freePort();
  const child = startService(broker, dir, port);
  const base = `http://127.0.0.1:${port}`;
  const devices: SimDevice[] = [];
  const cpu0 = process.cpuUsage();
  const load0 = loadavg();
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      if (i > 600 || child.exitCode !== null) throw new Error('fleet service did not start');
      await sleep(100);
    }
    const login = await fleetClient(base, undefined)(LoginAnswer, 'POST', '/api/login', { body: { username: 'bench', password: 'bench-password-1' } });
    const call = fleetClient(base, login.token);
    const ingest = () => call(IngestAnswer, 'GET', '/api/ingest');

    log(`connecting ${DEVICES} simulated devices`);
    const tc = Date.now();
    for (let i = 0; i < DEVICES; i++) {
      devices.push(new SimDevice({ url: broker.url, storeId: `store-${String(Math.floor(i / 10)).padStart(4, '0')}`, deviceId: `mirror-${i % 10}` }));
    }
    for (let i = 0; i < devices.length; i += 250) await Promise.all(devices.slice(i, i + 250).map((d) => d.start()));
    const connectS = (Date.now() - tc) / 1000;
    log(`all connected in ${connectS.toFixed(1)} s; sending for ${SECONDS} s${STORM_AT_S > 0 ? `, broker restart at ${STORM_AT_S} s` : ''}`);

    const t0 = Date.now();
    const end = t0 + SECONDS * 1000;
    const timers = drive(devices, end);
    let stormResult: Awaited<ReturnType<typeof storm>> | undefined;
    const stormAt = STORM_AT_S > 0 ? t0 + STORM_AT_S * 1000 : Infinity;
    // On a starved machine a progress call can outlast the run: the storm still happens once.
    while (Date.now() < end || (stormResult === undefined && stormAt < end)) {
      if (stormResult === undefined && Date.now() >= stormAt) {
        stormResult = await storm(broker, devices, async () => (await ingest()).ingest.connected === true);
        continue;
      }
      const nextStorm = stormResult === undefined ? stormAt - Date.now() : Infinity;
      await sleep(Math.max(0, Math.min(10_000, end - Date.now(), nextStorm)));
      const s = await ingest().catch(() => undefined);
      if (s) log(`${Math.round((Date.now() - t0) / 1000)} s: acked ${pubs.acked}, stored ${s.ingest.stored.metrics + s.ingest.stored.events}, lag p95 ${s.ingest.lag.p95Ms} ms, load ${loadavg()}`);
    }
    for (const t of timers) clearTimeout(t);
    const sentAt = Date.now();
    // Every publish must settle (acknowledged by the broker, or failed) before the count is final.
    while (pubs.acked + pubs.failed < pubs.attempted && Date.now() - sentAt < 120_000) await sleep(200);
    let s = await ingest();
    let lastLog = Date.now();
    while (s.counts.metrics + s.counts.events < pubs.acked && Date.now() - sentAt < DRAIN_S * 1000) {
      await sleep(1000);
      s = await ingest();
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`draining: stored ${s.counts.metrics + s.counts.events} of ${pubs.acked} acknowledged, load ${loadavg()}`);
      }
    }
    const drainMs = Date.now() - sentAt;
    const elapsedS = (sentAt - t0) / 1000;
    const stored = s.counts.metrics + s.counts.events;
    const loss = pubs.acked - stored;
    const serviceCpu = cpuSecondsOf(child.pid);
    const cpu = process.cpuUsage(cpu0);
    printTable(`bench:fleet: ${DEVICES} simulated mirrors, ${elapsedS.toFixed(0)} s, one fleet-service instance`, ['measure', 'value', 'target'], [
      ['devices', DEVICES, ''],
      ['broker / store', `${broker.kind} / ${process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite'}`, ''],
      ['connect all devices', `${connectS.toFixed(1)} s`, ''],
      ['messages published (metrics + events)', pubs.attempted, ''],
      ['acknowledged by the broker', pubs.acked, ''],
      ['publish errors', pubs.failed, '0'],
      ['device → broker msg/s', (pubs.acked / elapsedS).toFixed(1), ''],
      ['stored (metrics + events)', `${stored} (${s.counts.metrics} + ${s.counts.events})`, ''],
      ['ingest rate (stored/s, incl. drain)', (stored / (elapsedS + drainMs / 1000)).toFixed(1), ''],
      ['duplicates dropped (ledger)', s.ingest.duplicates, ''],
      ['invalid / dead-lettered', `${s.ingest.invalid} / ${s.ingest.deadLettered}`, '0 / 0'],
      ['loss (acked - stored)', loss, loss === 0 ? 'PASS (0)' : 'FAIL'],
      ['broker restart: all mirrors reconnected', stormResult ? `${stormResult.mirrorsBackMs} ms` : 'no storm', ''],
      ['broker restart: ingest reconnected', stormResult ? `${stormResult.ingestBackMs} ms` : 'no storm', ''],
      ['ingest lag p50', `${s.ingest.lag.p50Ms} ms`, ''],
      ['ingest lag p95', `${s.ingest.lag.p95Ms} ms`, ''],
      ['ingest lag max', `${s.ingest.lag.maxMs} ms`, ''],
      ['drain after last send', `${drainMs} ms`, ''],
      ['load average 1/5/15 min (start → end)', `${load0} → ${loadavg()}`, `${os.cpus().length} cores`],
      ['CPU: bench (mirrors) user+sys', `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`, ''],
      ['CPU: fleet service', serviceCpu === undefined ? 'n/a' : `${serviceCpu.toFixed(1)} s`, ''],
    ]);
    process.exitCode = loss === 0 && pubs.failed === 0 ? 0 : 1;
  } finally {
    await Promise.all(devices.map((d) => d.client?.endAsync(true).catch(() => undefined)));
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:fleet failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});

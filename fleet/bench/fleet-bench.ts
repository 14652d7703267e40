/**
 * `npm run bench:fleet`: N simulated mirrors (default 1,000, light MQTT clients in this process)
 * against a real Mosquitto (embedded aedes only where none is installed) and the fleet service
 * (a child process, its own event loop, SQLite by default or BENCH_DATABASE_URL). Each device
 * sends one metrics message per 5 s plus shopper events (a session every ~30 s: start, products
 * tried, sometimes a look saved, end). Bounded in time (BENCH_SECONDS, default 60), loopback only.
 * Reports broker messages/s, the service's ingest rate, loss (must be 0) and ingest lag
 * (device timestamp → stored; target p95 < 1 s).
 *
 * Length: main (~125 lines) is the bench script's straight-line sequence (start broker, service,
 * devices; run; collect; print), with small helpers inside.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SimDevice } from '../sim/device-sim.ts';
import { table } from '../cli/table.ts';
import { fleetClient } from '../cli/client.ts';
import { IngestAnswer, LoginAnswer } from '../cli/responses.ts';
import { freePort, startMosquitto } from '../sim/broker.ts';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const METRICS_MS = 5000;
const SESSION_MS = 30_000;
const ROOT = path.resolve(import.meta.dirname, '../..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[bench:fleet] ${s}\n`);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-bench-'));
  const broker = await startMosquitto();
  log(`broker: ${broker.kind} at ${broker.url}`);
  const port = await freePort();
  const admin = 'bench:bench-password-1';
  const child = spawn(process.execPath, ['--import', 'tsx', 'fleet/service/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      FLEET_PORT: String(port),
      FLEET_SQLITE_PATH: path.join(dir, 'fleet.db'),
      FLEET_ARTIFACT_DIR: path.join(dir, 'artifacts'),
      DATABASE_URL: process.env.BENCH_DATABASE_URL ?? '',
      MQTT_URL: broker.url,
      FLEET_BOOTSTRAP_ADMIN: admin,
      LOG_LEVEL: 'warn',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const devices: SimDevice[] = [];
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 300 || child.exitCode !== null) throw new Error('fleet service did not start');
      await sleep(100);
    }
    const login = await fleetClient(base, undefined)(LoginAnswer, 'POST', '/api/login', { body: { username: 'bench', password: 'bench-password-1' } });
    const call = fleetClient(base, login.token);
    const ingest = () => call(IngestAnswer, 'GET', '/api/ingest');

    log(`connecting ${DEVICES} simulated devices`);
    for (let i = 0; i < DEVICES; i++) {
      devices.push(new SimDevice({ url: broker.url, storeId: `store-${String(Math.floor(i / 10)).padStart(3, '0')}`, deviceId: `mirror-${i % 10}` }));
    }
    for (let i = 0; i < devices.length; i += 100) await Promise.all(devices.slice(i, i + 100).map((d) => d.start()));
    log(`all connected; sending for ${SECONDS} s`);

    const t0 = Date.now();
    const end = t0 + SECONDS * 1000;
    let sendErrors = 0;
    const fail = () => void sendErrors++;
    const timers: NodeJS.Timeout[] = [];
    for (const d of devices) {
      // Random phase so the load is spread, as a real fleet's would be.
      timers.push(
        setTimeout(() => {
          const tick = () => {
            if (Date.now() >= end) return;
            d.sendMetrics().catch(fail);
            timers.push(setTimeout(tick, METRICS_MS));
          };
          tick();
        }, Math.random() * METRICS_MS),
      );
      timers.push(
        setTimeout(() => {
          const session = async () => {
            if (Date.now() >= end) return;
            const sessionId = randomUUID();
            await d.sendEvent('session.start', { sessionId });
            for (let k = 0; k < 2; k++) await d.sendEvent('product.tried', { sessionId, productId: `lip-${Math.floor(Math.random() * 40)}` });
            const saved = Math.random() < 0.3;
            if (saved) await d.sendEvent('look.saved', { sessionId, lookId: randomUUID(), products: 1, productIds: 'lip-7' });
            await d.sendEvent('session.end', { sessionId, dwellMs: Math.round(20_000 + Math.random() * 60_000), productsTried: 2, looksSaved: saved ? 1 : 0, reason: 'idle' });
            timers.push(setTimeout(() => void session().catch(fail), SESSION_MS * (0.5 + Math.random())));
          };
          void session().catch(fail);
        }, Math.random() * SESSION_MS),
      );
    }
    while (Date.now() < end) {
      await sleep(Math.min(10_000, end - Date.now()));
      const s = await ingest();
      const sent = devices.reduce((n, d) => n + d.sent.metrics + d.sent.events, 0);
      const stored = s.ingest.stored.metrics + s.ingest.stored.events;
      log(`${Math.round((Date.now() - t0) / 1000)} s: sent ${sent}, stored ${stored}, lag p95 ${s.ingest.lag.p95Ms} ms`);
    }
    for (const t of timers) clearTimeout(t);
    const sentAt = Date.now();
    // Let in-flight sessions finish their last publishes, then wait for the store to catch up.
    await sleep(500);
    const sentMetrics = devices.reduce((n, d) => n + d.sent.metrics, 0);
    const sentEvents = devices.reduce((n, d) => n + d.sent.events, 0);
    let s = await ingest();
    const drainDeadline = Date.now() + 30_000;
    while ((s.counts.metrics < sentMetrics || s.counts.events < sentEvents) && Date.now() < drainDeadline) {
      await sleep(200);
      s = await ingest();
    }
    const drainMs = Date.now() - sentAt;
    const elapsedS = (sentAt - t0) / 1000;
    const sent = sentMetrics + sentEvents;
    const stored = s.counts.metrics + s.counts.events;
    const loss = sent - stored;
    const rows: Array<[string, string, string]> = [
      ['devices', String(DEVICES), ''],
      ['broker', broker.kind, ''],
      ['store', process.env.BENCH_DATABASE_URL ? 'postgres' : 'sqlite', ''],
      ['duration', `${elapsedS.toFixed(1)} s`, ''],
      ['messages sent (metrics + events)', `${sent} (${sentMetrics} + ${sentEvents})`, ''],
      ['broker messages/s (device → broker)', (sent / elapsedS).toFixed(1), ''],
      ['ingest rate (stored/s)', (stored / (elapsedS + drainMs / 1000)).toFixed(1), ''],
      ['stored (metrics + events)', `${stored} (${s.counts.metrics} + ${s.counts.events})`, ''],
      ['duplicates dropped', String(s.ingest.duplicates), ''],
      ['invalid', String(s.ingest.invalid), ''],
      ['publish errors', String(sendErrors), ''],
      ['loss', String(loss), loss === 0 ? 'PASS (0)' : 'FAIL'],
      ['ingest lag p50', `${s.ingest.lag.p50Ms} ms`, ''],
      ['ingest lag p95', `${s.ingest.lag.p95Ms} ms`, s.ingest.lag.p95Ms < 1000 ? 'PASS (< 1 s)' : 'FAIL'],
      ['ingest lag max', `${s.ingest.lag.maxMs} ms`, ''],
      ['drain after last send', `${drainMs} ms`, ''],
    ];
    process.stdout.write('\n' + table(['measure', 'value', 'target'], rows, ['l', 'r', 'l']) + '\n');
    process.exitCode = loss === 0 && s.ingest.lag.p95Ms < 1000 ? 0 : 1;
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

/**
 * Alerts raised and cleared from real telemetry (issue 21 part 4): simulated mirrors publish
 * through a real Mosquitto into the real fleet service (SQLite, and PostgreSQL when reachable);
 * the alert engine reads what the ingest stored; a real HTTP receiver and a real SMTP server get
 * the notifications. The service's clock is injected so that "offline for 10 minutes" and the
 * hold-down take no real time; the test moves it and runs an evaluation pass each time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../fleet/cli/cli.ts';
import type { AlertRow } from '../../fleet/service/alerts/alerts-repo.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { headersOf, mailedNotices, startSmtpReceiver, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from './alert-support.ts';
import { pgRequired, startFleet, until, type TestService } from './support.ts';

const PG = await pgRequired();
const MIN = 60_000;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !PG)(`alerts from real telemetry on ${kind}`, () => {
    let broker: TestBroker;
    let svc: TestService;
    let hook: WebhookReceiver;
    let smtp: SmtpReceiver;
    let clock = Date.now();
    const devices: SimDevice[] = [];

    beforeAll(async () => {
      [broker, hook, smtp] = await Promise.all([startMosquitto(), startWebhookReceiver(), startSmtpReceiver()]);
      const sink = { perMinute: 6000, burst: 1000, backoffMs: 10 };
      svc = await startFleet(
        kind,
        {
          mqtt: { url: broker.url },
          alerts: {
            // The timer stays out of the way: the test runs each pass itself.
            evaluateMs: 600_000,
            clearAfterS: 300,
            offline: { afterS: 600 },
            fps: { below: 20, clearAbove: 22, forS: 60 },
            temperature: { aboveC: 90, clearBelowC: 85, forS: 60 },
            degraded: { forS: 60 },
            // The injected clock runs ahead of the devices' own, so the lag rule is left out here.
            ingestStuck: { deadLetters: 3, windowS: 300, lagP95S: 1e9 },
            webhooks: [{ name: 'ops-hook', url: hook.url, secret: 'a-shared-secret-of-16+', ...sink }],
            email: [{ name: 'ops-mail', host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'fleet@mirror.test', to: ['oncall@mirror.test'], ...sink }],
          },
        },
        { now: () => clock },
      );
    });
    afterAll(async () => {
      for (const d of devices) await d.client?.endAsync(true).catch(() => undefined);
      await svc?.stop();
      await Promise.all([broker?.stop(), hook?.close(), smtp?.close()]);
    });

    const device = async (deviceId: string, seq = 1) => {
      const d = new SimDevice({ url: broker.url, storeId: 'lyon-02', deviceId, connectionSeq: seq, mqtt: { reconnectPeriod: 0 } });
      devices.push(d);
      await d.start();
      await until(async () => (await svc.store.devices.getDevice('lyon-02', deviceId))?.connectionSeq === seq);
      return d;
    };
    /** The connection dies without a DISCONNECT: the broker publishes the device's last will. */
    const kill = async (d: SimDevice) => {
      d.client.stream.destroy();
      await d.client.endAsync(true).catch(() => undefined);
      await until(async () => (await svc.store.devices.getDevice(d.addr.storeId, d.addr.deviceId))?.state === 'offline');
    };
    const metrics = async (d: SimDevice, o: Parameters<SimDevice['sendMetrics']>[0]) => {
      const n = (await svc.store.messages.counts()).metrics;
      await d.sendMetrics(o);
      await until(async () => (await svc.store.messages.counts()).metrics === n + 1);
    };
    const advance = (ms: number) => {
      clock += ms;
    };
    /** One pass; what it raised and cleared for this test's device (the others' alerts go on meanwhile). */
    let only = '';
    const evaluate = async () => {
      const r = await svc.alerts.evaluate();
      const mine = (a: AlertRow) => a.deviceId === only && only !== '';
      return { raised: r.raised.filter(mine), cleared: r.cleared.filter(mine) };
    };
    const alertsOf = async (deviceId: string, k: string): Promise<AlertRow[]> => {
      const r = await svc.api('GET', '/api/alerts?status=all&limit=1000');
      expect(r.status).toBe(200);
      return r.body.alerts.filter((a: AlertRow) => a.deviceId === deviceId && a.kind === k);
    };
    const hooked = (id: string) => hook.bodies.flatMap((b) => b.notices).filter((n: any) => n.alert.id === id).map((n: any) => n.event);
    const mailed = (id: string) => smtp.messages.flatMap((m) => mailedNotices(m.raw)).filter((n) => n.id === id).map((n) => n.event);

    it('low fps, a hot SoC and a degraded part raise alerts after their `for` time, hold inside the hysteresis band, and clear after the hold-down', async () => {
      only = 'mirror-1';
      const d = await device('mirror-1');
      const degraded = [{ component: 'camera', reason: 'no frames for 5 s; demo clip', since: new Date().toISOString() }];
      await metrics(d, { fps: 12, system: { temperaturesC: { 'CPU-therm': 96 } }, degraded });
      expect((await evaluate()).raised).toEqual([]); // pending: each must hold for 60 s first
      advance(61_000);
      const raised = (await evaluate()).raised;
      expect(raised.map((a) => a.kind).sort()).toEqual(['degraded', 'fps', 'temperature']);
      const fps = raised.find((a) => a.kind === 'fps')!;
      expect(fps).toMatchObject({ status: 'open', subject: 'lyon-02/mirror-1', summary: 'fps 12.0 below 20' });

      // Between the raise and the clear level: still a problem, nothing clears however long it lasts.
      await metrics(d, { fps: 21, system: { temperaturesC: { 'CPU-therm': 88 } }, degraded });
      await evaluate();
      advance(6 * MIN);
      expect((await evaluate()).cleared).toEqual([]);

      await metrics(d, { fps: 30, system: { temperaturesC: { 'CPU-therm': 60 } } });
      expect((await evaluate()).cleared).toEqual([]); // the hold-down starts
      advance(5 * MIN + 1000);
      expect((await evaluate()).cleared.map((a) => a.kind).sort()).toEqual(['degraded', 'fps', 'temperature']);
      expect(await alertsOf('mirror-1', 'fps')).toMatchObject([{ id: fps.id, status: 'closed', flaps: 0 }]);

      // Each sink got the raise and the clear, once.
      await until(() => hooked(fps.id).length === 2 && mailed(fps.id).length === 2);
      expect(hooked(fps.id)).toEqual(['raised', 'cleared']);
      expect(mailed(fps.id)).toEqual(['raised', 'cleared']);
    });

    it('a mirror offline for more than N minutes raises one alert; flapping ten times keeps it one alert; it clears once back for the hold-down', async () => {
      only = 'mirror-2';
      let seq = 1;
      let d = await device('mirror-2', seq);
      await kill(d);
      expect((await evaluate()).raised).toEqual([]);
      advance(9 * MIN);
      expect((await evaluate()).raised).toEqual([]); // not yet N = 10 minutes
      advance(1 * MIN + 1000);
      const [offline] = (await evaluate()).raised;
      expect(offline).toMatchObject({ kind: 'offline', subject: 'lyon-02/mirror-2', status: 'open' });
      expect(offline.summary).toMatch(/^offline for 10 min \(connection-lost\)$/);

      // Back for a minute, gone for eleven, ten times: each absence alone would be an alert.
      for (let i = 0; i < 10; i++) {
        d = await device('mirror-2', ++seq);
        for (let k = 0; k < 3; k++) {
          await evaluate();
          advance(20_000);
        }
        await kill(d);
        await evaluate();
        advance(11 * MIN);
        await evaluate();
      }
      const list = await alertsOf('mirror-2', 'offline');
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: offline.id, status: 'open', flaps: 10 });

      // Back for good: cleared after the hold-down, not before.
      d = await device('mirror-2', ++seq);
      await evaluate();
      advance(4 * MIN);
      expect((await evaluate()).cleared).toEqual([]);
      advance(1 * MIN + 1000);
      expect((await evaluate()).cleared.map((a) => a.id)).toEqual([offline.id]);
      expect(await alertsOf('mirror-2', 'offline')).toMatchObject([{ id: offline.id, status: 'closed', flaps: 10 }]);

      await until(() => hooked(offline.id).length === 2 && mailed(offline.id).length === 2);
      expect(hooked(offline.id)).toEqual(['raised', 'cleared']);
      expect(mailed(offline.id)).toEqual(['raised', 'cleared']);
    });

    it("dead letters piling up raise this instance's ingest-stuck alert; it clears when the window has passed and the hold-down with it", async () => {
      only = '';
      const db = svc.store.db;
      // The store refuses product "poison" for ever: a CHECK on PostgreSQL (permanent at once), a
      // trigger's error on SQLite (dead-lettered after maxAttempts while the store answers).
      if (db.dialect === 'postgres') await db.exec("ALTER TABLE events ADD CONSTRAINT refuse_poison CHECK (product_id IS NULL OR product_id <> 'poison')");
      else await db.exec("CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.product_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poison refused'); END");
      const d = await device('mirror-3');
      const stuck = (r: { raised: AlertRow[]; cleared: AlertRow[] }, k: 'raised' | 'cleared') => r[k].filter((a) => a.kind === 'ingest-stuck');
      expect(stuck(await svc.alerts.evaluate(), 'raised')).toEqual([]);
      const before = svc.ingest.stats().deadLettered;
      for (let i = 0; i < 3; i++) await d.sendEvent('product.tried', { sessionId: 's-poison', productId: 'poison' });
      await until(() => svc.ingest.stats().deadLettered === before + 3);
      const [raised] = stuck(await svc.alerts.evaluate(), 'raised');
      expect(raised).toMatchObject({ kind: 'ingest-stuck', subject: `service/${svc.config.mqtt.clientId}`, storeId: null, status: 'open' });
      expect(raised.summary).toBe('ingest stuck: 3 dead letters in 300 s');
      advance(301_000); // the dead letters leave the window
      expect(stuck(await svc.alerts.evaluate(), 'cleared')).toEqual([]);
      advance(301_000);
      expect(stuck(await svc.alerts.evaluate(), 'cleared').map((a) => a.id)).toEqual([raised.id]);
      await until(() => hooked(raised.id).length === 2);
    });

    it('the webhook is signed JSON and the e-mail a real RFC 5322 message to the configured recipients', async () => {
      const { createHmac } = await import('node:crypto');
      expect(hook.bodies.length).toBeGreaterThan(0);
      const i = hook.bodies.length - 1;
      const body = hook.bodies[i];
      expect(body).toMatchObject({ v: 1, sentAt: expect.any(String) });
      expect(body.notices[0]).toMatchObject({ event: expect.stringMatching(/^(raised|cleared)$/), alert: { id: expect.any(String), kind: expect.any(String) } });
      const sig = createHmac('sha256', 'a-shared-secret-of-16+').update(JSON.stringify(body)).digest('hex');
      expect(hook.headers[i]['x-fleet-signature']).toBe(`sha256=${sig}`);

      const m = smtp.messages.at(-1)!;
      expect(m.from).toBe('fleet@mirror.test');
      expect(m.to).toEqual(['oncall@mirror.test']);
      const h = headersOf(m.raw);
      expect(h.from).toBe('fleet@mirror.test');
      expect(h.to).toBe('oncall@mirror.test');
      expect(h.subject).toMatch(/^\[fleet\] ((RAISED|CLEARED) |\d+ alert changes)/);
      expect(mailedNotices(m.raw).length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(h.date))).toBe(false);
      expect(h['message-id']).toMatch(/^<[^@\s]+@[^>\s]+>$/);
      expect(h['mime-version']).toBe('1.0');
    });

    it('an operator acknowledges an alert: recorded in the alert and the audit log; a second ack is refused', async () => {
      const [a] = (await svc.api('GET', '/api/alerts?status=all')).body.alerts as AlertRow[];
      const ack = await svc.api('POST', `/api/alerts/${a.id}/ack`);
      expect(ack.status).toBe(200);
      expect(ack.body.alert).toMatchObject({ id: a.id, ackedBy: 'admin', ackedAt: clock });
      expect((await svc.api('POST', `/api/alerts/${a.id}/ack`)).status).toBe(409);
      const audit = await svc.api('GET', '/api/audit?action=alert.ack');
      expect(audit.body.audit).toMatchObject([{ actor: 'admin', action: 'alert.ack', target: a.id }]);
      expect((await svc.api('POST', '/api/alerts/not-a-uuid/ack')).status).toBe(400);
    });

    it('`fleet alerts` lists them and `fleet alerts ack` acknowledges one', async () => {
      const cli = async (...argv: string[]) => {
        const out: string[] = [];
        const code = await runCli(argv, { out: (x) => out.push(x), err: (x) => out.push(x), env: { FLEET_URL: svc.url, FLEET_TOKEN: svc.token } });
        return { code, out: out.join('\n') };
      };
      const all = await cli('alerts', '--all');
      expect(all.code).toBe(0);
      expect(all.out).toMatch(/closed\s+offline\s+lyon-02\/mirror-2 .* 10 /);
      const open = await cli('alerts', '--json');
      expect(JSON.parse(open.out).alerts.every((a: AlertRow) => a.status === 'open')).toBe(true);
      const [target] = ((await svc.api('GET', '/api/alerts?status=all')).body.alerts as AlertRow[]).filter((a) => a.ackedBy === null);
      const ack = await cli('alerts', 'ack', target.id);
      expect(ack).toMatchObject({ code: 0, out: `alert ${target.id} (${target.kind} ${target.subject}) acknowledged by admin` });
      expect((await cli('alerts', 'ack', target.id)).code).not.toBe(0);
    });
  });
}

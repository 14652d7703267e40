/**
 * The store manager's dashboard and the operator console in Debian Chromium, against the real
 * fleet service fed through a real Mosquitto by simulated mirrors (fleet/sim: the protocol's own
 * encoder, real MQTT clients). The mirrors start first: one shopper session begins before the
 * fleet service is listening, so its session.start is lost and only its later events arrive.
 *
 *  - a wrong password is refused (no session cookie);
 *  - the manager's page shows figures that agree (sessions >= sessions that tried) and charts
 *    drawn from the telemetry that went through the broker; times in the store's zone;
 *  - the manager cannot read another store, neither on the page nor through the API with the
 *    session cookie the browser holds;
 *  - the CSV export carries the same numbers;
 *  - an operator's console shows every store and device, artifacts and the audit log;
 *  - axe-core finds no serious or critical violation on any screen; screenshots in
 *    test-artifacts/dashboard/.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMosquitto, startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { SimDevice } from '../../fleet/sim/device-sim.ts';
import { startFleet, until, type TestService } from '../fleet/support.ts';
import { ensureDashboardBuilt, openBrowser, screenshot, seriousViolations, signIn, type Browser } from './dashboard-support.ts';

const HAVE = findMosquitto() !== undefined;
if (!HAVE) console.warn('[tests] mosquitto not found: skipping the dashboard browser suite');

const MANAGER = { username: 'claire', password: 'claire-password-1' };
const OPERATOR = { username: 'olga', password: 'olga-password-1' };

describe.skipIf(!HAVE)('dashboard in Chromium, fed through a real broker', { timeout: 180_000 }, () => {
  let broker: TestBroker;
  let svc: TestService;
  let browser: Browser;
  const paris = { store: 'paris-01', sim: undefined as unknown as SimDevice };
  const berlin = { store: 'berlin-03', sim: undefined as unknown as SimDevice };
  let sentAt = 0;
  /** Europe/Paris at the time the events were sent: its short name (CET/CEST) and offset (+01:00/+02:00). */
  const parisZone = (style: 'short' | 'longOffset') =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeZoneName: style }).formatToParts(sentAt).find((x) => x.type === 'timeZoneName')!.value;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    broker = await startMosquitto();
    paris.sim = new SimDevice({ url: broker.url, storeId: paris.store, deviceId: 'mirror-1', models: { 'face-mesh': '1.2.0', catalog: '2026.11' }, firmwareVersion: '0.9.0' });
    berlin.sim = new SimDevice({ url: broker.url, storeId: berlin.store, deviceId: 'mirror-9' });
    await Promise.all([paris.sim.start(), berlin.sim.start()]);
    // The mirror is up before the fleet service: this session's start reaches no subscriber.
    const early = randomUUID();
    await paris.sim.sendEvent('session.start', { sessionId: early });

    svc = await startFleet('sqlite', { mqtt: { url: broker.url } });
    await until(async () => (await svc.api('GET', '/api/devices')).body.devices.length === 2, 100);
    await svc.api('PUT', `/api/stores/${paris.store}/settings`, { timeZone: 'Europe/Paris', name: 'Paris Opéra' });
    await svc.api('POST', '/api/users', { ...MANAGER, role: 'manager', storeId: paris.store });
    await svc.api('POST', '/api/users', { ...OPERATOR, role: 'operator' });

    const p = paris.sim;
    sentAt = Date.now();
    await p.sendMetrics({ fps: 29.5, latencyP95Ms: 41, system: { temperaturesC: { x86_pkg_temp: 61 } } });
    await p.sendEvent('product.tried', { sessionId: early, productId: 'lip-ruby' });
    await p.sendEvent('session.end', { sessionId: early, dwellMs: 40_000, productsTried: 1, looksSaved: 0, reason: 'idle' });
    const b = randomUUID();
    await p.sendEvent('session.start', { sessionId: b });
    await p.sendEvent('product.tried', { sessionId: b, productId: 'lip-ruby' });
    await p.sendEvent('product.tried', { sessionId: b, productId: 'lip-nude' });
    await p.sendEvent('look.saved', { sessionId: b, lookId: randomUUID(), products: 1, productIds: 'lip-nude' });
    await p.sendEvent('session.end', { sessionId: b, dwellMs: 80_000, productsTried: 2, looksSaved: 1, reason: 'idle' });
    const c = randomUUID();
    await p.sendEvent('session.start', { sessionId: c });
    await p.sendEvent('session.end', { sessionId: c, dwellMs: 10_000, productsTried: 0, looksSaved: 0, reason: 'idle' });
    const d = randomUUID();
    await berlin.sim.sendEvent('session.start', { sessionId: d });
    await berlin.sim.sendEvent('product.tried', { sessionId: d, productId: 'berlin-secret-shade' });
    await until(async () => svc.ingest.stats().stored.events === 11 && svc.ingest.stats().stored.metrics === 1, 100);
    browser = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([paris.sim?.stop(), berlin.sim?.stop()]);
    await svc?.stop();
    await broker?.stop();
  });

  it('a wrong password is refused and leaves no session cookie', async () => {
    const { page, context } = browser;
    await signIn(page, svc.url, MANAGER.username, 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    expect(await context.cookies()).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'login-refused');
  });

  it("the manager's page: figures that agree, charts from the broker's telemetry, mirror health, in the store's zone", async () => {
    const { page, context } = browser;
    await page.getByLabel('Password').fill(MANAGER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/#\/store\/paris-01$/);
    const cookie = (await context.cookies()).find((c) => c.name === 'fleet_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');

    await expect.poll(() => page.getByTestId('kpi-sessions').textContent()).toBe('3');
    // The session whose start was lost still counts: 3 sessions, 2 tried a product, 1 saved.
    expect(await page.getByTestId('kpi-tried').textContent()).toBe('2');
    expect(await page.getByTestId('kpi-saved').textContent()).toBe('1');
    expect(await page.getByTestId('kpi-conversion').textContent()).toBe('50 %');
    expect(await page.getByTestId('kpi-dwell').textContent()).toBe('40 s');
    const api = (await svc.api('GET', `/api/stores/${paris.store}/stats?days=7`)).body;
    expect(api).toMatchObject({ sessions: 3, sessionsTried: 2, sessionsSaved: 1 });
    expect(await page.getByTestId('store-tz').textContent()).toContain(`times in Europe/Paris (${parisZone('short')})`);

    // The per-hour numbers under the chart: every session this hour, the hour in Paris time.
    await page.getByText('Show the numbers').first().click();
    const table = page.getByTestId('hourly-table').locator('tbody tr');
    const sessionsPerRow = (await table.locator('td:nth-child(2)').allTextContents()).map(Number);
    expect(sessionsPerRow.reduce((a, b) => a + b, 0)).toBe(3);
    const parisHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(sentAt);
    expect(await table.first().locator('td').first().textContent()).toMatch(new RegExp(` ${parisHour}:00$`));
    // The chart itself: uPlot drew the sessions' bars on its canvas (pixels of the bar colour).
    const barPixels = await page.getByTestId('hourly-plot').locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 11) < 12 && Math.abs(d[i + 1] - 92) < 12 && Math.abs(d[i + 2] - 173) < 12) n++;
      return n;
    });
    expect(barPixels).toBeGreaterThan(50);
    const items = async (id: string) => (await page.getByTestId(id).locator('li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(await items('top-tried')).toEqual(['lip-ruby 2', 'lip-nude 1']);
    expect(await items('top-saved')).toEqual(['lip-nude 1']);

    const mirror = page.getByTestId('mirrors').locator('tr[data-device="mirror-1"]');
    const cells = await mirror.locator('td, th').allTextContents();
    expect(cells.slice(0, 5)).toEqual(['mirror-1', 'online', 'ok', '29.5', '41 ms']);
    expect(cells[5]).toContain('face-mesh 1.2.0');
    expect(cells[6]).toBe('2026.11');
    expect(cells[7]).toBe('61 °C');
    expect(await page.content()).not.toContain('berlin-secret-shade');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'manager-store');
  });

  it("the manager cannot read another store's data: the page refuses, and so does the API with the browser's cookie", async () => {
    const { page } = browser;
    await page.goto(`${svc.url}/#/store/${berlin.store}`);
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(`You do not have access to store ${berlin.store}.`);
    expect(await page.getByTestId('kpi-sessions').count()).toBe(0);
    const statuses = await page.evaluate(async (store) => {
      const urls = [`/api/stores/${store}/stats`, `/api/stores/${store}/export.csv`, `/api/devices?store=${store}`, `/api/stores/${store}`];
      return Promise.all(urls.map(async (u) => [u, (await fetch(u)).status, await (await fetch(u)).text()] as const));
    }, berlin.store);
    for (const [u, status, body] of statuses) {
      expect(status, u).toBe(403);
      expect(body, u).not.toContain('berlin-secret-shade');
    }
    // The store list the page can fetch holds the manager's store only.
    expect(await page.evaluate(async () => (await (await fetch('/api/stores')).json()).stores.map((s: { storeId: string }) => s.storeId))).toEqual([paris.store]);
    await screenshot(page, 'manager-other-store-refused');
  });

  it('the CSV export carries the same numbers as the page, in local hours', async () => {
    const { page } = browser;
    await page.goto(`${svc.url}/#/store/${paris.store}`);
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await page.evaluate(async (u) => (await fetch(u!)).text(), href);
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('hour_start_local,hour_start_utc,sessions,sessions_tried,sessions_saved');
    const busy = lines.slice(1).filter((l) => !l.endsWith(',0,0,0'));
    const offset = parisZone('longOffset').replace('GMT', '');
    for (const l of busy) expect(l).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:00:00\\${offset},`));
    const sum = (i: number) => busy.reduce((n, l) => n + Number(l.split(',')[i]), 0);
    expect([sum(2), sum(3), sum(4)]).toEqual([3, 2, 1]);
  });

  it('an operator sees every store and device, the artifacts and the audit log; each screen passes axe', async () => {
    const { page, context } = browser;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(async () => (await context.cookies()).filter((c) => c.name === 'fleet_session').length).toBe(0);
    await signIn(page, svc.url, OPERATOR.username, OPERATOR.password);
    await page.waitForURL(/#\/console\/fleet$/);
    await expect.poll(() => page.getByTestId('stores').locator('tbody tr').count()).toBe(2);
    expect(await page.getByTestId('stores').locator('tbody tr').allTextContents()).toEqual(['berlin-03–UTC11', 'paris-01Paris OpéraEurope/Paris11']);
    expect(await page.getByTestId('mirrors').locator('tbody tr').count()).toBe(2);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'console-fleet');
    for (const tab of ['Rollouts', 'Artifacts', 'Audit log']) {
      await page.getByRole('link', { name: tab, exact: true }).click();
      await page.getByRole('heading', { name: tab === 'Audit log' ? 'Audit log' : tab, level: 2 }).waitFor();
      expect(await seriousViolations(page), tab).toEqual([]);
      await screenshot(page, `console-${tab.toLowerCase().replace(' ', '-')}`);
    }
    const audit = await page.getByTestId('audit').locator('tbody tr').allTextContents();
    expect(audit.some((r) => r.includes('olga') && r.includes('login'))).toBe(true);
    expect(audit.some((r) => r.includes('claire') && r.includes('login.failed'))).toBe(true);
    // The operator may open any store's page.
    await page.goto(`${svc.url}/#/store/${berlin.store}`);
    await expect.poll(() => page.getByTestId('kpi-sessions').textContent()).toBe('1');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'operator-store');
  });
});

/**
 * Camera lost on a running mirror (real daemon, real ffmpeg capture child on a video file that
 * disappears as an unplugged /dev/videoN does, headless Chromium): the kiosk replaces the frozen
 * shopper with a service message, /healthz lists the camera as degraded, and once the camera is
 * back the mirror returns by itself.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { hasFfmpeg, makeClipVideo } from '../daemon/clip-video.ts';
import { ARTIFACTS, ensureUiBuilt, openGlass, type Glass } from './chromium.ts';
import { brightestOnGlass } from './glass-pixels.ts';
import { offScreen, seriousA11yViolations } from './screen-checks.ts';

const painted = (glass: Glass) =>
  glass.page.locator('[data-testid=mirror]').getAttribute('data-painted').then((v) => Number(v ?? 0));

describe.skipIf(!hasFfmpeg)('kiosk when the camera is lost and comes back', () => {
  let daemon: RunningDaemon | undefined;
  let glass: Glass | undefined;
  let clip: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ensureUiBuilt();
    clip = makeClipVideo();
    daemon = await startDaemon({ env: { SOURCE: `clip:${clip}` } });
    glass = await openGlass();
    await glass.page.goto(daemon.url, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await glass?.close();
    await daemon?.stop().catch(() => {});
  }, 30_000);

  it('shows "mirror camera unavailable" instead of a frozen shopper, and the mirror once it is back', async () => {
    const { page } = glass!;
    const message = page.locator('[data-testid=camera-unavailable]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=mirror]')?.getAttribute('data-painted') ?? 0) > 0, null, { timeout: 60_000 });
    expect(await message.getAttribute('data-visible')).toBe('false');

    // Unplugged: the device node is gone and the capture child dies with it.
    renameSync(clip, `${clip}.away`);
    const pid = daemon!.logs.findLast((l) => l.msg === 'capture child started')?.pid as number;
    process.kill(pid, 'SIGKILL');

    await message.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await message.textContent()).toMatch(/mirror camera unavailable/i);
    expect(await page.locator('[data-testid=attract]').getAttribute('data-visible')).toBe('false');
    await page.waitForTimeout(400); // the fade
    await page.screenshot({ path: join(ARTIFACTS, 'kiosk-camera-unavailable.png') });
    expect(await seriousA11yViolations(page), 'camera unavailable: serious/critical axe-core findings').toEqual([]);
    expect(await offScreen(page), 'camera unavailable: elements outside the viewport').toEqual([]);
    // The last shopper is off the glass, not frozen on it.
    const brightest = await brightestOnGlass(page);
    expect(brightest).toBe(0);

    const health = await (await fetch(`${daemon!.url}/healthz`)).json();
    expect(health.status).toBe('degraded');
    expect(health.degraded).toEqual([expect.objectContaining({ component: 'camera', reason: expect.any(String), since: expect.any(String) })]);
    expect(await (await fetch(`${daemon!.url}/metrics`)).text()).toMatch(/^mirror_degraded\{component="camera"\} 1$/m);

    // Plugged back in: the mirror returns by itself.
    const before = await painted(glass!);
    renameSync(`${clip}.away`, clip);
    await message.waitFor({ state: 'hidden', timeout: 10_000 });
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=mirror]')?.getAttribute('data-painted')) > n, before, { timeout: 20_000 });
    const after = await (await fetch(`${daemon!.url}/healthz`)).json();
    expect(after.degraded).toEqual([]);
    expect(after.source.restarts).toBeGreaterThanOrEqual(1);
    expect(glass!.errors).toEqual([]);
  }, 90_000);
});

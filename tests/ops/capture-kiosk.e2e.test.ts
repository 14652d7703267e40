/**
 * Debug capture consent on the real glass: the real daemon, the built kiosk in headless Chromium
 * (touch), and `mirrorctl capture`. The staff dialog appears on the kiosk; a tap on "Deny" writes
 * nothing, a tap on "Allow" writes exactly one 0600 file.
 */
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { mirrorctl } from './support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const dir = mkdtempSync(path.join(os.tmpdir(), 'capture-kiosk-'));
const stateDir = path.join(dir, 'state');
const debugDir = path.join(stateDir, 'debug');
const debugFiles = (): string[] => (existsSync(debugDir) ? readdirSync(debugDir) : []);

describe.skipIf(!existsSync(CHROMIUM))('debug capture consent on the kiosk (headless Chromium)', () => {
  let daemon: RunningDaemon;
  let context: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    // `npm test` builds the kiosk first; a direct run builds it when missing.
    if (!existsSync(path.join(repoRoot, 'ui/dist/index.html'))) {
      const { build } = await import('vite');
      await build({ configFile: path.join(repoRoot, 'ui/vite.config.ts'), logLevel: 'warn' });
    }
    writeFileSync(path.join(dir, 'mirror.json'), JSON.stringify({ mqtt: { embeddedPort: 0 } }));
    daemon = await startDaemon({ env: { MIRROR_CONFIG: path.join(dir, 'mirror.json'), MIRROR_STATE_DIR: stateDir }, timeoutMs: 150_000 });
    context = await chromium.launchPersistentContext(mkdtempSync(path.join(dir, 'chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
      viewport: { width: 540, height: 960 },
      hasTouch: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(daemon.url, { waitUntil: 'load' });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=mirror]')?.getAttribute('data-painted') ?? 0) > 0, null, { timeout: 60_000 });
  }, 240_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await daemon?.stop();
  });

  const socket = () => path.join(stateDir, 'control.sock');

  it('a tap on "Deny" writes nothing and closes the dialog', async () => {
    const pending = mirrorctl(socket(), 'capture');
    const dialog = page.locator('[data-testid=staff-confirm]');
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await dialog.textContent()).toContain('Nothing is saved unless you allow it');
    await page.locator('[data-testid=staff-confirm-deny]').tap();
    const result = await pending;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('denied on the mirror');
    await dialog.waitFor({ state: 'detached', timeout: 5000 });
    expect(debugFiles()).toEqual([]);
  }, 60_000);

  it('a tap on "Allow" writes exactly one frame, mode 0600', async () => {
    const pending = mirrorctl(socket(), 'capture');
    await page.locator('[data-testid=staff-confirm]').waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('[data-testid=staff-confirm-allow]').tap();
    const result = await pending;
    expect(result.code, result.stderr).toBe(0);
    const files = debugFiles();
    expect(files).toHaveLength(1);
    expect(statSync(path.join(debugDir, files[0])).mode & 0o777).toBe(0o600);
  }, 60_000);
});

/** Headless Debian Chromium on the kiosk's portrait glass, and the built kiosk it loads. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ARTIFACTS = join(REPO, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const VIEWPORT = { width: 540, height: 960 }; // the portrait glass
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** `npm test` builds the UI first; a direct `vitest run tests/ui` builds it here when missing or stale. */
export async function ensureUiBuilt(): Promise<void> {
  const index = join(REPO, 'ui/dist/index.html');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
      const full = join(dir, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(newest(join(REPO, 'ui/src')), statSync(join(REPO, 'ui/index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const { build } = await import('vite');
  await build({ configFile: join(REPO, 'ui/vite.config.ts'), logLevel: 'warn' });
}

export interface Glass {
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** The glasses the kiosk is laid out for: portrait first, then the landscape screens stores also use. */
export const GLASSES = [
  { width: 1080, height: 1920 },
  { width: 1920, height: 1080 },
  { width: 1280, height: 800 },
] as const;

/** Where the kiosk suites put their screenshots. */
export const UI_ARTIFACTS = join(ARTIFACTS, 'ui');

/** A kiosk browser (touch screen, portrait unless told) with a fresh profile. */
/** A fresh Chromium profile at `viewport`; the glass is a touch screen, the dashboard's desktop (`touch: false`) is not. */
export async function openGlass(viewport: { width: number; height: number } = VIEWPORT, options: { touch?: boolean } = {}): Promise<Glass> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'kiosk-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    deviceScaleFactor: 1,
    hasTouch: options.touch ?? true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

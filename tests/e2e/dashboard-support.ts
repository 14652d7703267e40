/**
 * The dashboard in Debian Chromium: the build (made when missing or stale), a desktop browser with
 * a fresh profile, an axe-core scan of the page as it stands, and screenshots under
 * test-artifacts/dashboard/.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { ARTIFACTS, openGlass, REPO, type Glass } from '../ui/chromium.ts';

const require = createRequire(import.meta.url);
const AXE_SOURCE = (require('axe-core') as { source: string }).source;
const SHOTS = join(ARTIFACTS, 'dashboard');
export const DASHBOARD_DIR = join(REPO, 'fleet/dashboard');

/** `npm test` builds it first; a direct `vitest run` of a dashboard suite builds it here when stale. */
export async function ensureDashboardBuilt(): Promise<void> {
  const newest = (p: string): number => {
    const s = statSync(p);
    return s.isDirectory() ? readdirSync(p).reduce((m, e) => Math.max(m, newest(join(p, e))), 0) : s.mtimeMs;
  };
  const index = join(DASHBOARD_DIR, 'dist/index.html');
  const sources = Math.max(newest(join(DASHBOARD_DIR, 'src')), statSync(join(DASHBOARD_DIR, 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const { build } = await import('vite');
  await build({ configFile: join(DASHBOARD_DIR, 'vite.config.ts'), logLevel: 'warn' });
}

export type Browser = Glass;

/** A desktop browser (no touch) with a fresh profile: the kiosk tests' launcher. */
export function openBrowser(viewport = { width: 1366, height: 900 }): Promise<Browser> {
  return openGlass(viewport, { touch: false });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core on the page as it is now (WCAG 2.1 A/AA rules); the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Through the DevTools protocol: the page's CSP (script-src 'self') stays on and untouched.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the login form, as a person would. */
export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

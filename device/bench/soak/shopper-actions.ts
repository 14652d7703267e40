/**
 * What a shopper (and the store around the mirror) does to the kiosk during a soak, one action
 * at a time, picked at random by weight. Today's kiosk has no try-on controls, so the list is the
 * page's life cycle: reloads, the debug HUD toggle, viewport changes, leaving and coming back,
 * the network dropping, taps on the glass; the face coming and going is the clip's own.
 * When try-on controls land, add their actions here (one entry each); nothing else changes.
 */
import type { BrowserContext, Page } from 'playwright-core';

export interface KioskHandle {
  page: Page;
  context: BrowserContext;
  url: string;
  /** Uniform in [0, 1), from the soak's seeded generator. */
  random: () => number;
}

export interface ShopperAction {
  name: string;
  /** Relative frequency. */
  weight: number;
  run(kiosk: KioskHandle): Promise<void>;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const between = (k: KioskHandle, lo: number, hi: number) => lo + Math.floor(k.random() * (hi - lo));

/** Portrait glass sizes first; a landscape one and a small one to shake the layout. */
const VIEWPORTS = [
  { width: 540, height: 960 },
  { width: 1080, height: 1920 },
  { width: 768, height: 1024 },
  { width: 1280, height: 720 },
  { width: 360, height: 640 },
];

export const SHOPPER_ACTIONS: ShopperAction[] = [
  { name: 'watch the mirror', weight: 6, run: (k) => pause(between(k, 2000, 8000)) },
  { name: 'toggle the HUD (d)', weight: 3, run: (k) => k.page.keyboard.press('d') },
  {
    name: 'tap the glass',
    weight: 2,
    run: async (k) => {
      const size = k.page.viewportSize() ?? VIEWPORTS[0];
      await k.page.mouse.click(between(k, 0, size.width), between(k, 0, size.height));
    },
  },
  { name: 'reload the kiosk', weight: 1, run: async (k) => void (await k.page.reload({ waitUntil: 'load' })) },
  { name: 'resize the viewport', weight: 1, run: (k) => k.page.setViewportSize(VIEWPORTS[between(k, 0, VIEWPORTS.length)]) },
  {
    name: 'leave and come back',
    weight: 1,
    run: async (k) => {
      await k.page.goto('about:blank');
      await pause(between(k, 500, 3000));
      await k.page.goto(k.url, { waitUntil: 'load' });
    },
  },
  {
    name: 'network drops for a moment',
    weight: 1,
    run: async (k) => {
      await k.context.setOffline(true);
      await pause(between(k, 1000, 4000));
      await k.context.setOffline(false);
    },
  },
];

export function pickAction(actions: ShopperAction[], random: () => number): ShopperAction {
  const total = actions.reduce((sum, a) => sum + a.weight, 0);
  let r = random() * total;
  for (const a of actions) {
    r -= a.weight;
    if (r < 0) return a;
  }
  return actions[actions.length - 1];
}


/**
 * What is on the glass, read the way the shopper sees it: a screenshot of the composited page
 * (the mirror canvas after the compositor's cover-fit and flip) with everything above the mirror
 * made transparent, so overlays cannot mix in. To know which frame the pixels belong to, the
 * kiosk's paint worker is held on the frame it shows while the screenshot is taken.
 */
import type { Page } from 'playwright-core';
import sharp from 'sharp';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Only the mirror canvas is drawn in the screenshot. */
const ONLY_THE_MIRROR = 'main > :not([data-testid=mirror]) { opacity: 0 !important; }';

/** RGBA bytes of `box` (CSS px at device scale 1), or of the whole viewport, as composited now. */
export async function glassPixels(page: Page, box?: Box): Promise<{ rgba: Buffer; width: number; height: number }> {
  const png = await page.screenshot({ clip: box, style: ONLY_THE_MIRROR, animations: 'disabled', caret: 'initial' });
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgba: data, width: info.width, height: info.height };
}

/** Holds the glass on its current frame; the id of that frame (0: none painted yet). */
async function hold(page: Page, on: boolean): Promise<number | null> {
  return page.evaluate(
    (on) =>
      new Promise<number | null>((resolve, reject) => {
        const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=mirror]')!;
        const started = performance.now();
        canvas.dispatchEvent(new CustomEvent('mirror:hold', { detail: on }));
        const check = () => {
          const held = canvas.dataset.held;
          if (on && held !== undefined) resolve(Number(held));
          else if (!on && held === undefined) resolve(null);
          else if (performance.now() - started > 2000) reject(new Error(`the paint worker did not answer hold ${on}`));
          else setTimeout(check, 5);
        };
        check();
      }),
    on,
  );
}

/**
 * Pixels of `box` on the glass together with the id of the frame they show, for the first frame
 * `accept` takes within `timeoutMs` (null when none was).
 */
export async function readGlass(page: Page, box: Box, accept: (id: number) => boolean, timeoutMs = 1500): Promise<{ id: number; rgba: Buffer } | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const id = (await hold(page, true)) ?? 0;
    try {
      if (accept(id)) return { id, rgba: (await glassPixels(page, box)).rgba };
    } finally {
      await hold(page, false);
    }
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  return null;
}

/** The brightest channel value anywhere on the glass (0: nothing painted, or wiped). */
export async function brightestOnGlass(page: Page): Promise<number> {
  const { rgba } = await glassPixels(page);
  let max = 0;
  for (let i = 0; i < rgba.length; i += 4) max = Math.max(max, rgba[i], rgba[i + 1], rgba[i + 2]);
  return max;
}

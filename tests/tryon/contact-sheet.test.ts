/**
 * The contact sheet (issue 15: every category and finish rendered on real face photos, saved as PNG
 * artifacts): every shade of the demo catalog alone and every look, through the try-on stage as the
 * daemon runs it (occlusion gate, person segmentation), on two package-shipped photos. Each tile
 * must be drawn: the stage reports the products asked for and changed pixels. Sheets under
 * test-artifacts/tryon/contact-sheet-<photo>.png.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildContactSheet } from './contact-sheet-builder.ts';

const PHOTOS = ['@vladmandic/face-api/demo/sample4.jpg', '@vladmandic/face-api/demo/sample6.jpg'];

describe('contact sheet: every shade and look on real photos', () => {
  for (const photo of PHOTOS) {
    it(`${photo}: every tile drawn through the stage, PNG written`, async () => {
      const { file, tiles } = await buildContactSheet(photo);
      const painted = tiles.filter((t) => t.asked.length > 0);
      const undrawn = painted.filter((t) => t.changed === 0 || t.asked.some((id) => !t.applied.includes(id)));
      console.log(`${photo}: ${tiles.length} tiles (${painted.length} painted), ${undrawn.length} not drawn${undrawn.length ? `: ${undrawn.map((t) => t.label).join(', ')}` : ''} → ${file}`);
      expect(existsSync(file)).toBe(true);
      expect(painted.length).toBeGreaterThan(80);
      expect(undrawn.map((t) => t.label)).toEqual([]);
    }, 600_000);
  }
});

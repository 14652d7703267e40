/**
 * Contact sheet of every shade the demo catalog sells (every category, finish and style), each drawn
 * alone through the try-on stage as the daemon runs it (real occlusion gate, person segmentation for
 * hair colour), on one real photo, plus every look: a PNG under test-artifacts/tryon/. Used by
 * contact-sheet.test.ts (which checks every tile) and tests/tools/tryon-contact-sheet.ts.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { resolveModel } from '../../models/registry.ts';
import { bundledCatalog, CatalogSlot, resolveItem } from '../../device/tryon/catalog.ts';
import { CATEGORIES } from '../../device/tryon/catalog/schema.ts';
import { createOcclusionGate } from '../../device/tryon/occlusion/index.ts';
import type { AppliedProduct } from '../../device/tryon/render/renderer.ts';
import { createTryOnStage } from '../../device/tryon/tryon-stage.ts';
import { regionBox } from '../../device/vision/regions.ts';
import { PersonSegmenter } from '../../device/vision/segmentation.ts';
import { loadVision } from '../helpers/vision.ts';
import { ARTIFACTS, frameOf, shopperFrom } from '../helpers/tryon.ts';


const TILE = 200;
const COLUMNS = 10;

export interface SheetTile {
  label: string;
  /** Product ids asked for, and those the stage reports it drew. */
  asked: string[];
  applied: string[];
  /** Pixels of the frame the stage changed. */
  changed: number;
}

export async function buildContactSheet(photo: string): Promise<{ file: string; tiles: SheetTile[] }> {
  const vision = await loadVision();
  const shopper = await shopperFrom(vision, photo);
  const segmenter = new PersonSegmenter(await vision.runtime.load(await resolveModel('segmentation')), { every: 1 });
  const person = await segmenter.segment(shopper.image);
  const catalog = bundledCatalog();

  const entries: Array<{ label: string; items: AppliedProduct[] }> = [{ label: 'bare', items: [] }];
  for (const category of CATEGORIES)
    for (const product of catalog.products.filter((p) => p.category === category))
      for (const shade of product.shades)
        entries.push({
          label: `${category} ${shade.finish}${shade.style ? ` ${Object.values(shade.style).filter((v) => typeof v === 'string' && !v.startsWith('#')).join(' ')}` : ''} · ${shade.name}`,
          items: [{ product, shade, intensity: 1 }],
        });
  for (const look of catalog.looks) entries.push({ label: `look · ${look.name}`, items: look.items.map((ref) => resolveItem(catalog, ref)).flatMap((r) => (r.ok ? [r.item] : [])) });

  const oval = regionBox(shopper.face.landmarks, 'faceOval');
  const side = Math.min(shopper.image.width, shopper.image.height, Math.round(oval.height * 1.5));
  const crop = {
    left: Math.max(0, Math.min(shopper.image.width - side, Math.round(oval.x + oval.width / 2 - side / 2))),
    top: Math.max(0, Math.min(shopper.image.height - side, Math.round(oval.y + oval.height / 2 - side / 2))),
    width: side,
    height: side,
  };
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const overlays: OverlayOptions[] = [];
  const tiles: SheetTile[] = [];
  for (const [n, entry] of entries.entries()) {
    const frame = frameOf(shopper.image);
    // Nothing chosen would show the catalog default: the bare tile skips the stage.
    const applied =
      entry.items.length > 0 ? createTryOnStage({ selection: () => ({ items: entry.items, compare: null }), gate: createOcclusionGate, catalog: new CatalogSlot() })(frame, [shopper.face], person) : [];
    let changed = 0;
    for (let i = 0; i < frame.data.length; i += 3)
      if (frame.data[i] !== shopper.image.data[i] || frame.data[i + 1] !== shopper.image.data[i + 1] || frame.data[i + 2] !== shopper.image.data[i + 2]) changed++;
    tiles.push({ label: entry.label, asked: [...new Set(entry.items.map((i) => i.product.id))], applied, changed });
    const label = `<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${TILE}"><rect y="${TILE - 18}" width="${TILE}" height="18" fill="#000" opacity="0.6"/><text x="3" y="${TILE - 5}" font-size="10" font-family="sans-serif" fill="#fff">${escape(entry.label.slice(0, 40))}</text></svg>`;
    const input = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .extract(crop)
      .resize(TILE, TILE)
      .composite([{ input: Buffer.from(label) }])
      .png()
      .toBuffer();
    overlays.push({ input, left: (n % COLUMNS) * TILE, top: Math.floor(n / COLUMNS) * TILE });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `contact-sheet-${path.basename(photo, '.jpg')}.png`);
  await sharp({ create: { width: COLUMNS * TILE, height: Math.ceil(entries.length / COLUMNS) * TILE, channels: 3, background: '#202020' } })
    .composite(overlays)
    .png()
    .toFile(file);
  return { file, tiles };
}

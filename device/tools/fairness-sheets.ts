/**
 * Blind contact sheets for a second labelling of the fairness photos (tests/fixtures/fairness,
 * SOURCES.md "Second annotation"): every photo's central face crop above the 10 MST swatches, in a
 * seeded random order and numbered, 20 per sheet, with no file name, first label or reading on them.
 * The key (sheet number → file) goes to key.json beside the sheets, to be opened only after labelling.
 *   npx tsx device/tools/fairness-sheets.ts   → test-artifacts/fairness/blind/sheet0.png ... key.json
 * New photos, before they are in labels.json (a round's blind labelling, SOURCES.md):
 *   npx tsx device/tools/fairness-sheets.ts --files list.json --seed N --out DIR   (list.json: file names in tests/fixtures/fairness)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import sharp, { type OverlayOptions } from 'sharp';
import { MONK_HEX } from '../advisor/monk.ts';
import { mulberry32 } from '../core/seeded-random.ts';
import { FIXTURES, LabelsSchema } from './eval-fairness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string' }, files: { type: 'string' } } });
const OUT = args.out ?? path.join(root, 'test-artifacts', 'fairness', 'blind');
const SEED = Number(args.seed ?? 20261202);
const PER_SHEET = 20;
const COLS = 5;
const W = 180;
const H = 200;
const SWATCH = 18;


const list = args.files;
const order: string[] = list
  ? (JSON.parse(readFileSync(list, 'utf8')) as string[])
  : LabelsSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, 'labels.json'), 'utf8'))).map((l) => l.file);
const rnd = mulberry32(SEED);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rnd() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'key.json'), JSON.stringify(order));
const strip = await sharp({ create: { width: W, height: 26, channels: 3, background: '#808080' } })
  .composite(MONK_HEX.map((hex, i) => ({ input: { create: { width: SWATCH - 2, height: 24, channels: 3 as const, background: hex } }, left: i * SWATCH + 1, top: 1 })))
  .png()
  .toBuffer();
for (let sheet = 0; sheet * PER_SHEET < order.length; sheet++) {
  const items = order.slice(sheet * PER_SHEET, (sheet + 1) * PER_SHEET);
  const composites: OverlayOptions[] = [];
  for (const [k, file] of items.entries()) {
    const x = (k % COLS) * (W + 10);
    const y = Math.floor(k / COLS) * (H + 50);
    const meta = await sharp(path.join(FIXTURES, file)).metadata();
    // The portraits are head and shoulders: the middle 60 % across, 12-62 % down holds the face.
    const crop = await sharp(path.join(FIXTURES, file))
      .extract({ left: Math.round(meta.width! * 0.2), top: Math.round(meta.height! * 0.12), width: Math.round(meta.width! * 0.6), height: Math.round(meta.height! * 0.5) })
      .resize(W, H, { fit: 'fill' })
      .png()
      .toBuffer();
    const number = `<svg width="${W}" height="20"><text x="2" y="15" font-size="14" fill="white">#${sheet * PER_SHEET + k}</text></svg>`;
    composites.push({ input: crop, left: x, top: y }, { input: strip, left: x, top: y + H + 2 }, { input: Buffer.from(number), left: x, top: y + H + 28 });
  }
  const rows = Math.ceil(items.length / COLS);
  await sharp({ create: { width: COLS * (W + 10), height: rows * (H + 50), channels: 3, background: '#808080' } })
    .composite(composites)
    .png()
    .toFile(path.join(OUT, `sheet${sheet}.png`));
}
console.log(`written ${path.relative(root, OUT)}/sheet*.png and key.json (${order.length} photos)`);

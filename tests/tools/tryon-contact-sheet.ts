/**
 * Contact sheet of every shade and look of the demo catalog on one real photo (see
 * tests/tryon/contact-sheet-builder.ts; the test tests/tryon/contact-sheet.test.ts makes the same
 * sheets). Written to test-artifacts/tryon/contact-sheet-<photo>.png.
 *
 *   npx tsx tests/tools/tryon-contact-sheet.ts [PHOTO (package path, default face-api sample4)]
 */
import { buildContactSheet } from '../tryon/contact-sheet-builder.ts';

const { file, tiles } = await buildContactSheet(process.argv[2] ?? '@vladmandic/face-api/demo/sample4.jpg');
console.log(`${tiles.length} tiles → ${file}`);
process.exit(0);

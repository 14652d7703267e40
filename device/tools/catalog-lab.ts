/**
 * Fills in every shade's `lab` from its `hex` with culori (CIELAB D65, device/tryon/colour.ts),
 * validates the result as catalog v2 and writes it back in the repository's catalog layout (one
 * shade or look per line, so a review diff shows the shade that changed).
 *
 *   tsx device/tools/catalog-lab.ts device/assets/catalog.json            # rewrite in place
 *   tsx device/tools/catalog-lab.ts device/assets/catalog.json --check    # exit 1 if any lab is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hexToLab, type LabTriple } from '../tryon/colour.ts';
import { validateCatalogV2 } from '../tryon/catalog/validate.ts';
import type { CatalogV2 } from '../tryon/catalog/schema.ts';

/** Two decimals: ΔE2000 of the rounding is far below 0.01, and the file stays readable. */
export const labOf = (hex: string): LabTriple => hexToLab(hex).map((v) => Math.round(v * 100) / 100 + 0) as LabTriple;

/** The catalog with every `lab` recomputed from `hex` (style and every other field untouched). */
export function withLab(catalog: CatalogV2): CatalogV2 {
  return { ...catalog, products: catalog.products.map((p) => ({ ...p, shades: p.shades.map((s) => ({ ...s, lab: labOf(s.hex) })) })) };
}

/** JSON with products, shades and looks laid out one per line. */
export function formatCatalog(c: CatalogV2): string {
  const j = JSON.stringify;
  const product = (p: CatalogV2['products'][number]): string => {
    const { shades, ...head } = p;
    return `    ${j(head).slice(0, -1)}, "shades": [\n${shades.map((s) => `      ${j(s)}`).join(',\n')}\n    ] }`;
  };
  const { schema, version, products, looks, ...rest } = c;
  const lines = [`  "schema": ${j(schema)}`, `  "version": ${j(version)}`];
  if (rest.default) lines.push(`  "default": ${j(rest.default)}`);
  lines.push(`  "products": [\n${products.map(product).join(',\n')}\n  ]`);
  lines.push(`  "looks": [\n${looks.map((l) => `    ${j(l)}`).join(',\n')}\n  ]`);
  if (rest.advisor) lines.push(`  "advisor": {"rules": [\n${rest.advisor.rules.map((r) => `    ${j(r)}`).join(',\n')}\n  ]}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { check: { type: 'boolean' } } });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: catalog-lab.ts CATALOG.json [--check]\n');
    process.exit(2);
  }
  const raw = JSON.parse(readFileSync(file, 'utf8')) as CatalogV2;
  const next = withLab(raw);
  validateCatalogV2(next);
  const text = formatCatalog(next);
  if (values.check) {
    const stale = readFileSync(file, 'utf8') !== text;
    process.stdout.write(stale ? `${file}: lab values or layout are stale; run without --check\n` : `${file}: ok\n`);
    process.exit(stale ? 1 : 0);
  }
  writeFileSync(file, text);
  const shades = next.products.reduce((n, p) => n + p.shades.length, 0);
  process.stdout.write(`${file}: ${next.products.length} products, ${shades} shades, ${next.looks.length} looks; lab from hex (culori lab65)\n`);
}

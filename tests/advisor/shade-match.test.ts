/**
 * Shade matching and content recommendations against the bundled demo catalog: the nearest
 * foundation and concealer shades in ΔE2000 order, checked by brute force with culori; the
 * merchandiser's rules table (validated, references named on error) and the trends blend with its
 * k-anonymity threshold.
 */
import { differenceCiede2000 } from 'culori';
import { describe, expect, it } from 'vitest';
import { MONK_SWATCHES } from '../../device/advisor/monk.ts';
import { contentRecommendations, recommend, trendRecommendations } from '../../device/advisor/recommend.ts';
import { matchShades, nearestShades } from '../../device/advisor/shade-match.ts';
import { TrendArtifactSchema, type TrendArtifact } from '../../device/advisor/trends.ts';
import { bundledCatalog, CatalogError, validateCatalogV2 } from '../../device/tryon/catalog.ts';

const catalog = bundledCatalog();
const ciede = differenceCiede2000();

describe('shade matching (ΔE2000, culori)', () => {
  for (const swatch of MONK_SWATCHES) {
    it(`MST ${swatch.monk} skin: the 3 nearest foundations and concealers are culori's, in order`, () => {
      const skin = { mode: 'lab65' as const, l: swatch.lab[0], a: swatch.lab[1], b: swatch.lab[2] };
      for (const category of ['foundation', 'concealer'] as const) {
        const brute = catalog.products
          .filter((p) => p.category === category)
          .flatMap((p) => p.shades.map((s) => ({ productId: p.id, shadeId: s.id, deltaE: ciede(skin, { mode: 'lab65', l: s.lab[0], a: s.lab[1], b: s.lab[2] }) })))
          .sort((x, y) => x.deltaE - y.deltaE);
        const got = nearestShades(catalog, category, swatch.lab);
        expect(got.map((m) => `${m.productId}/${m.shadeId}`)).toEqual(brute.slice(0, 3).map((m) => `${m.productId}/${m.shadeId}`));
        got.forEach((m, i) => expect(m.deltaE).toBeCloseTo(brute[i].deltaE, 9));
        for (let i = 1; i < got.length; i++) expect(got[i].deltaE).toBeGreaterThanOrEqual(got[i - 1].deltaE);
      }
      const both = matchShades(catalog, swatch.lab);
      expect(both).toHaveLength(6);
      console.log(`MST ${swatch.monk}: ${both.map((m) => `${m.productId}/${m.shadeId} ΔE ${m.deltaE}`).join('; ')}`);
    });
  }
});

describe("the merchandiser's rules table", () => {
  it('the demo catalog suggests lips, blush, eyes and contour by depth and undertone, each with its reason', () => {
    const warmMedium = contentRecommendations(catalog, { monk: 5, undertone: 'warm', faceShape: 'oval' });
    const coolDeep = contentRecommendations(catalog, { monk: 8, undertone: 'cool', faceShape: 'oval' });
    expect(warmMedium.map((r) => r.shadeId)).toContain('brick');
    expect(warmMedium.find((r) => r.shadeId === 'brick')!.reason).toBe('Brick and rose-gold suit medium skin with warm undertones');
    expect(coolDeep.map((r) => r.shadeId)).toEqual(expect.arrayContaining(['plum-noir', 'berry-flush', 'plum-night']));
    expect(warmMedium.map((r) => r.shadeId)).not.toContain('plum-noir');
    for (const r of [...warmMedium, ...coolDeep]) expect(r.reason.length).toBeGreaterThan(10);
  });

  it('a rule naming a shade the catalog lacks is refused naming the field; an unknown condition value too', () => {
    const raw = JSON.parse(JSON.stringify(catalog)) as Record<string, unknown> & { advisor: { rules: Array<Record<string, unknown>> } };
    raw.advisor.rules[2].suggest = [{ productId: 'kora-glass-gloss', shadeId: 'no-such-shade' }];
    expect(() => validateCatalogV2(raw)).toThrow(CatalogError);
    try {
      validateCatalogV2(raw);
    } catch (err) {
      expect((err as CatalogError).field).toBe('advisor.rules.2.suggest.0.shadeId');
    }
    const bad = JSON.parse(JSON.stringify(catalog)) as typeof raw;
    bad.advisor.rules[0].undertone = ['olive'];
    try {
      validateCatalogV2(bad);
      expect.unreachable();
    } catch (err) {
      expect((err as CatalogError).field).toBe('advisor.rules.0.undertone.0');
    }
    const { advisor: _drop, ...without } = raw;
    expect(validateCatalogV2(without).advisor).toBeUndefined();
  });
});

describe('behaviour blended in from the recommendation artifact (k-anonymity)', () => {
  // The fleet's own k may be lower than the mirror's (here 10): the mirror applies its own as well.
  const artifact = (sessions: number, scope = 'fleet'): TrendArtifact =>
    TrendArtifactSchema.parse({
      kind: 'recommendations',
      version: 'r1',
      generatedAt: '2026-12-01T00:00:00.000Z',
      windowDays: 30,
      minSessions: 10,
      buckets: [
        {
          toneBand: 'medium',
          undertone: 'warm',
          scope,
          sessions,
          products: [
            { productId: 'kora-glass-gloss', shadeId: 'coral-crush', tried: 40, saved: 12, trend: 1.1 },
            { productId: 'velour-cheek-tint', shadeId: 'coral-pop', tried: 30, saved: 9, trend: null },
            { productId: 'gone-product', shadeId: 'x', tried: 50, saved: 30, trend: null },
          ],
        },
      ],
    });
  const shopper = { monk: 5, undertone: 'warm' as const, faceShape: 'oval' as const };

  it('a bucket with 19 sessions is not read, one with 20 is; products not in the catalog are skipped', () => {
    expect(trendRecommendations(catalog, artifact(19), shopper, 'demo-store', 20)).toEqual([]);
    const used = trendRecommendations(catalog, artifact(20), shopper, 'demo-store', 20);
    expect(used.map((r) => r.shadeId)).toEqual(['coral-crush', 'coral-pop']);
    expect(used[0].reason).toBe('Saved most by shoppers with a similar tone in the last 30 days');
    // The mirror's own threshold wins over a smaller one in the artifact.
    expect(trendRecommendations(catalog, artifact(25), shopper, 'demo-store', 30)).toEqual([]);
    expect(trendRecommendations(catalog, artifact(25, 'demo-store'), shopper, 'demo-store', 20)[0].reason).toMatch(/in this store/);
    expect(trendRecommendations(catalog, artifact(25, 'other-store'), shopper, 'demo-store', 20)).toEqual([]);
  });

  it('no artifact: content only; with one: behaviour first, each shade once', () => {
    const content = recommend(catalog, shopper, { artifact: null, storeId: 'demo-store', minSessions: 20 });
    expect(content).toEqual(contentRecommendations(catalog, shopper));
    const blended = recommend(catalog, shopper, { artifact: artifact(20), storeId: 'demo-store', minSessions: 20 });
    expect(blended[0].shadeId).toBe('coral-crush');
    const keys = blended.map((r) => `${r.productId}/${r.shadeId}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(blended.find((r) => r.shadeId === 'coral-pop')!.reason).toMatch(/Saved most/);
  });
});

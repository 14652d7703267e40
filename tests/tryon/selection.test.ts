/**
 * The shopper's selection against the bundled catalog v2 (the one the daemon serves): set, remove,
 * clear, catalog and saved looks, compare; refusals name the field and change nothing; a catalog
 * switch re-reads and drops items; a session end resets to what the next shopper sees first.
 * Saved look ids: round trip, tampering, cut ids, a shade the catalog does not sell, the longest id.
 */
import { describe, expect, it } from 'vitest';
import type { EventMessage } from '../../fleet/protocol/schemas.ts';
import { createEventPublisher, SessionTracker } from '../../device/telemetry/events.ts';
import { CATEGORIES, CatalogSlot, bundledCatalog, servingCatalog, type CatalogV2 } from '../../device/tryon/catalog.ts';
import { decodeSavedLook, encodeSavedLook, MAX_SAVED_LOOK_ID } from '../../device/tryon/saved-look.ts';
import { Selection, type ChangeCause } from '../../device/tryon/selection.ts';
import type { TryOnStateMessage } from '../../device/transport/events.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet } as never;

function rig(catalog: CatalogV2 = bundledCatalog()) {
  const slot = new CatalogSlot(servingCatalog(catalog));
  const tried: string[] = [];
  const changes: Array<{ state: TryOnStateMessage; cause: ChangeCause }> = [];
  const selection = new Selection({ catalog: slot, onTried: (p, s) => tried.push(`${p}/${s}`) });
  selection.onChange((state, cause) => changes.push({ state, cause }));
  return { slot, selection, tried, changes };
}

const ids = (s: TryOnStateMessage) => s.items.map((i) => `${i.productId}/${i.shadeId}@${i.intensity}`);

describe('shopper selection', () => {
  it('starts with the catalog default, which is not a shopper choice', () => {
    const { selection, tried } = rig();
    const c = bundledCatalog();
    expect(selection.state()).toEqual({
      items: [{ productId: c.default!.productId, shadeId: c.default!.shadeId, intensity: 1, category: 'lipstick' }],
      lookId: null,
      compare: null,
      revision: 0,
    });
    expect(tried).toEqual([]);
  });

  it('set replaces the category\'s product (first shade and full intensity by default, 1 % steps) and draws in category order', () => {
    const { selection, tried, changes } = rig();
    const r1 = selection.set({ productId: 'velour-velvet-matte' });
    expect(r1.ok && ids(r1.state)).toEqual(['velour-velvet-matte/classic-red@1']);
    const r2 = selection.set({ productId: 'velour-cheek-tint', shadeId: 'rose-dust', intensity: 0.555 });
    expect(r2.ok && ids(r2.state)).toEqual(['velour-cheek-tint/rose-dust@0.56', 'velour-velvet-matte/classic-red@1']);
    expect(selection.forStage().items.map((i) => i.product.category)).toEqual(['blush', 'lipstick']);
    expect(selection.forStage().items[0].shade.hex).toBe('#c97683');
    expect(tried).toEqual(['velour-velvet-matte/classic-red', 'velour-cheek-tint/rose-dust']);
    expect(changes.map((c) => [c.cause, c.state.revision])).toEqual([
      ['command', 1],
      ['command', 2],
    ]);
  });

  it('an unknown id or a bad value is refused naming the field, and nothing changes', () => {
    const { selection, changes } = rig();
    selection.set({ productId: 'kora-glass-gloss' });
    const before = selection.state();
    const stage = selection.forStage();
    const refusals = [
      selection.set({ productId: 'no-such-product' }),
      selection.set({ productId: 'kora-glass-gloss', shadeId: 'ruby' }),
      selection.set({ productId: 'kora-glass-gloss', intensity: 1.5 }),
      selection.set({ productId: 'kora-glass-gloss', intensity: -0.1 }),
      selection.remove({ category: 'nailPolish' }),
      selection.remove({ productId: 'no-such-product' }),
      selection.remove({ productId: 'kora-glass-gloss', category: 'blush' }),
      selection.remove({}),
      selection.look('no-such-look'),
    ];
    expect(refusals.map((r) => !r.ok && r.error.field)).toEqual(['productId', 'shadeId', 'intensity', 'intensity', 'category', 'productId', 'category', 'productId', 'lookId']);
    expect(selection.state()).toEqual(before);
    expect(selection.forStage()).toBe(stage);
    expect(changes).toHaveLength(1);
  });

  it('remove by product or by category; removing what is not on changes nothing; clear takes all off', () => {
    const { selection } = rig();
    selection.look('evening-glam');
    const r1 = selection.remove({ productId: 'velour-lip-pencil' });
    expect(r1.ok && r1.state.items.some((i) => i.category === 'lipLiner')).toBe(false);
    expect(r1.ok && r1.state.lookId).toBeNull();
    const r2 = selection.remove({ category: 'mascara' });
    expect(r2.ok && r2.state.items.map((i) => i.category)).not.toContain('mascara');
    const revision = selection.state().revision;
    const r3 = selection.remove({ productId: 'kora-glass-gloss' }); // a lipstick, but not the one on
    expect(r3.ok && r3.state.revision).toBe(revision);
    expect(selection.state().items.find((i) => i.category === 'lipstick')?.productId).toBe('lumiere-rouge-satin');
    const r4 = selection.clear();
    expect(r4.ok && r4.state.items).toEqual([]);
    expect(selection.forStage().items).toEqual([]);
  });

  it('a catalog look: its items and intensities, its id while unchanged (compare keeps it), product.tried for each', () => {
    const { selection, tried } = rig();
    const look = bundledCatalog().looks.find((l) => l.id === 'office')!;
    const r = selection.look('office');
    expect(r.ok && r.state.lookId).toBe('office');
    expect(r.ok && [...ids(r.state)].sort()).toEqual(look.items.map((i) => `${i.productId}/${i.shadeId}@${i.intensity}`).sort());
    const categories = r.ok ? r.state.items.map((i) => i.category) : [];
    expect(categories).toEqual(CATEGORIES.filter((c) => categories.includes(c)));
    expect(tried).toHaveLength(look.items.length);
    const c = selection.compare(0.4);
    expect(c.ok && [c.state.lookId, c.state.compare]).toEqual(['office', 0.4]);
    expect(selection.forStage().compare).toBe(0.4);
    const s = selection.set({ productId: 'lumiere-rouge-satin', shadeId: 'ruby' });
    expect(s.ok && [s.state.lookId, s.state.compare]).toEqual([null, 0.4]);
  });

  it('a saved look id reads back to the same items; an edited, cut or foreign one is refused naming lookId', () => {
    const { selection } = rig();
    selection.look('bridal');
    selection.set({ productId: 'velour-cheek-tint', shadeId: 'berry-flush', intensity: 0.37 });
    const saved = selection.state();
    const lookId = encodeSavedLook(selection.refs());
    expect(lookId).toMatch(/^1\.[A-Za-z0-9_-]+$/);
    selection.clear();
    const r = selection.look(lookId);
    expect(r.ok && r.state.items).toEqual(saved.items);
    expect(r.ok && r.state.lookId).toBe(lookId);

    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
    const before = selection.state();
    for (const bad of [flip(lookId, 5), flip(lookId, lookId.length - 1), lookId.slice(0, -3), `2${lookId.slice(1)}`, `${lookId}A`, `1.${'@'.repeat(20)}`]) {
      const refused = selection.look(bad);
      expect(refused.ok ? 'accepted' : refused.error.field, bad).toBe('lookId');
    }
    expect(selection.state()).toEqual(before);
    // Well formed and checked, but naming a shade this catalog does not sell.
    const foreign = encodeSavedLook([{ productId: 'lumiere-rouge-satin', shadeId: 'discontinued-red', intensity: 1 }]);
    const refused = selection.look(foreign);
    expect(!refused.ok && refused.error).toMatchObject({ field: 'lookId', message: expect.stringContaining('does not sell') });
  });

  it('the longest saved look (one product per category) stays short and passes the fleet\'s look.saved schema', () => {
    const catalog = bundledCatalog();
    const refs = CATEGORIES.map((c) => catalog.products.find((p) => p.category === c)!).map((p) => ({ productId: p.id, shadeId: p.shades.at(-1)!.id, intensity: 0.33 }));
    const lookId = encodeSavedLook(refs);
    expect(lookId.length).toBeLessThanOrEqual(MAX_SAVED_LOOK_ID);
    expect(MAX_SAVED_LOOK_ID).toBeLessThanOrEqual(130);
    expect(decodeSavedLook(catalog, lookId)).toEqual({ ok: true, items: refs });
    // Through the daemon's own tracker and publisher: the event validates (ids that do not fit the
    // protocol's 256 characters are left out whole, never cut).
    const sent: EventMessage[] = [];
    const sink = createEventPublisher({ deviceId: 'mirror-1', logger: quiet, send: (_p, msg) => sent.push(msg) });
    new SessionTracker({ idleTimeoutMs: 10_000, sink }).lookSaved(lookId, refs.map((r) => r.productId), 0);
    const saved = sent.find((m) => m.type === 'look.saved')!;
    expect(saved.data).toMatchObject({ lookId, products: CATEGORIES.length });
    const listed = String(saved.data!.productIds).split(',');
    expect(listed.length).toBeGreaterThan(5);
    expect(refs.map((r) => r.productId)).toEqual(expect.arrayContaining(listed));
  });

  it('a catalog switch re-reads kept items, drops vanished ones and says so; an untouched selection follows the new default', () => {
    const { slot, selection, changes } = rig();
    selection.set({ productId: 'velour-cheek-tint', shadeId: 'petal' });
    selection.set({ productId: 'kora-glass-gloss', shadeId: 'cherry-glaze', intensity: 0.5 });
    const next = structuredClone(bundledCatalog());
    next.version = '2026.2.1';
    const gloss = next.products.find((p) => p.id === 'kora-glass-gloss')!;
    gloss.shades = gloss.shades.filter((s) => s.id !== 'cherry-glaze');
    next.products.find((p) => p.id === 'velour-cheek-tint')!.shades.find((s) => s.id === 'petal')!.hex = '#f0a0a0';
    slot.swap(servingCatalog(next));
    expect(changes.at(-1)!.cause).toBe('catalog');
    expect(ids(changes.at(-1)!.state)).toEqual(['velour-cheek-tint/petal@1']);
    expect(selection.forStage().items[0].shade.hex).toBe('#f0a0a0');
    expect(selection.catalog).toBe(next);

    const untouched = rig();
    const moved = structuredClone(bundledCatalog());
    moved.default = { productId: 'kora-prism', shadeId: 'opal-pink' };
    untouched.slot.swap(servingCatalog(moved));
    expect(ids(untouched.selection.state())).toEqual(['kora-prism/opal-pink@1']);
  });

  it('a session end resets to the default with compare off, and the listeners hear it', () => {
    const { selection, changes } = rig();
    selection.look('smoky');
    selection.compare(0.5);
    selection.reset();
    const last = changes.at(-1)!;
    expect(last.cause).toBe('reset');
    expect(last.state).toMatchObject({ lookId: null, compare: null, revision: 3 });
    expect(ids(last.state)).toEqual([`${bundledCatalog().default!.productId}/${bundledCatalog().default!.shadeId}@1`]);
    expect(selection.forStage().compare).toBeNull();
  });
});

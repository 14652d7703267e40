/**
 * The advisor session on a real face (sample6, real tracker) with a simulated clock: the cadence
 * (one frame in N analysed), nothing before settleMs, a new message when the serving catalog or the
 * trends artifact changes (not on every frame), null and nothing held after the shopper leaves or
 * the session is wiped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AdvisorSession, CHANGE_CONFIRM } from '../../device/advisor/session.ts';
import { HOLD_LEVELS } from '../../device/advisor/monk.ts';
import { ReadingWindow, WINDOW_FRAMES } from '../../device/advisor/reading.ts';
import { sampleSkin } from '../../device/advisor/skin-sample.ts';
import type { RgbImage } from '../../device/vision/image-ops.ts';
import { TrendArtifactSchema, toneBandOf, type TrendArtifact } from '../../device/advisor/trends.ts';
import type { AdvisorEventMessage, AdvisorMessage } from '../../device/transport/events.ts';
import { bundledCatalog, type CatalogV2 } from '../../device/tryon/catalog.ts';
import { shopperFrom, type Shopper } from '../helpers/tryon.ts';
import { loadVision } from '../helpers/vision.ts';

let shopper: Shopper;
beforeAll(async () => {
  shopper = await shopperFrom(await loadVision(), '@vladmandic/face-api/demo/sample6.jpg');
}, 120_000);

describe('the advisor session', () => {
  it('analyses 1 frame in N, sends after settleMs, again only when catalog or trends change, null on leave', () => {
    let catalog: CatalogV2 = bundledCatalog();
    let artifact: TrendArtifact | null = null;
    const sent: Array<{ at: number; message: AdvisorEventMessage }> = [];
    let now = 0;
    const session = new AdvisorSession({
      everyFrames: 5,
      settleMs: 1000,
      leaveMs: 1500,
      catalog: () => catalog,
      trends: () => ({ artifact, storeId: 'demo-store', minSessions: 20 }),
      emit: (message) => sent.push({ at: now, message }),
    });
    const frame = (face: boolean) => {
      const analysed = session.observe(shopper.image, face ? [shopper.face] : [], now);
      now += 1000 / 30;
      return analysed;
    };
    let analysed = 0;
    for (let i = 0; i < 60; i++) if (frame(true)) analysed++;
    expect(analysed).toBe(12);
    expect(sent).toHaveLength(1);
    expect(sent[0].at).toBeGreaterThanOrEqual(1000);
    const first = sent[0].message as AdvisorMessage;

    // A new catalog version with a rule for this shopper: a new message, with the rule's suggestion.
    catalog = { ...catalog, version: '2026.2.1', advisor: { rules: [{ suggest: [{ productId: 'kora-prism', shadeId: 'opal-pink' }], reason: 'New this week' }] } };
    for (let i = 0; i < 10; i++) frame(true);
    expect(sent).toHaveLength(2);
    expect((sent[1].message as AdvisorMessage).recommendations).toEqual([{ productId: 'kora-prism', shadeId: 'opal-pink', reason: 'New this week' }]);

    // A trends artifact arrives for this shopper's bucket: a new message, behaviour first.
    artifact = TrendArtifactSchema.parse({
      kind: 'recommendations',
      version: 't1',
      generatedAt: '2026-12-01T00:00:00.000Z',
      windowDays: 28,
      minSessions: 20,
      buckets: [
        {
          toneBand: toneBandOf(first.monk),
          undertone: first.undertone,
          scope: 'fleet',
          sessions: 40,
          products: [{ productId: 'velour-velvet-matte', shadeId: 'brick', tried: 30, saved: 11, trend: 1.4 }],
        },
      ],
    });
    for (let i = 0; i < 10; i++) frame(true);
    expect(sent).toHaveLength(3);
    expect((sent[2].message as AdvisorMessage).recommendations[0]).toEqual({
      productId: 'velour-velvet-matte',
      shadeId: 'brick',
      reason: 'Saved most by shoppers with a similar tone in the last 28 days',
    });
    // Nothing changed: nothing sent, whatever the frames.
    for (let i = 0; i < 30; i++) frame(true);
    expect(sent).toHaveLength(3);

    // The shopper leaves: nothing before leaveMs, then null, and nothing held.
    const leftAt = now;
    while (now - leftAt < 1400) frame(false);
    expect(sent).toHaveLength(3);
    while (now - leftAt < 1600) frame(false);
    expect(sent.at(-1)!.message).toBeNull();
    expect(session.heldFrames).toBe(0);
    expect(session.current).toBeNull();

    // Back: a second again before anything is sent; a wipe (session end) sends null at once.
    const backAt = now;
    while (now - backAt < 900) frame(true);
    expect(sent).toHaveLength(4);
    while (now - backAt < 1300) frame(true);
    expect(sent).toHaveLength(5);
    session.wipe();
    expect(sent.at(-1)!.message).toBeNull();
    expect(session.heldFrames).toBe(0);
  }, 120_000);

  it('a new tone is sent only once it is HOLD_LEVELS past the boundary and has held for CHANGE_CONFIRM analyses', () => {
    // The same face under less light (every pixel scaled) reads deeper: a light level that reads just past
    // the boundary next to the shown tone must not change it; one well past it must, and only after the
    // window's median has moved to it and the new key has held for CHANGE_CONFIRM analyses in a row.
    const dimmed = (f: number): RgbImage => ({ ...shopper.image, data: Uint8Array.from(shopper.image.data, (v) => Math.min(255, Math.round(v * f))) });
    const scoreOf = (image: RgbImage) => {
      const w = new ReadingWindow();
      w.add(sampleSkin(image, shopper.face)!);
      return w.reading()!.monkScore;
    };
    const factors = Array.from({ length: 61 }, (_, i) => 1 - i * 0.01);
    const scores = factors.map((f) => scoreOf(dimmed(f)));
    const shown = Math.round(scores[0]);
    const boundary = shown + 0.5 * Math.sign(scores.at(-1)! - scores[0]);
    const past = (s: number) => (s - boundary) * Math.sign(boundary - shown);
    const near = factors.findIndex((_, i) => past(scores[i]) > 0.02 && past(scores[i]) < HOLD_LEVELS - 0.02);
    const far = factors.findIndex((_, i) => past(scores[i]) > HOLD_LEVELS + 0.1 && past(scores[i]) < 0.9);
    expect(near, `no light level reads just past ${boundary}: ${scores.map((s) => s.toFixed(2)).join(' ')}`).toBeGreaterThan(0);
    expect(far).toBeGreaterThan(near);

    const sent: AdvisorEventMessage[] = [];
    let now = 0;
    const session = new AdvisorSession({
      everyFrames: 1,
      settleMs: 0,
      leaveMs: 1500,
      catalog: () => bundledCatalog(),
      trends: () => ({ artifact: null, storeId: 'demo-store', minSessions: 20 }),
      emit: (message) => sent.push(message),
    });
    const feed = (image: RgbImage, frames: number) => {
      for (let i = 0; i < frames; i++, now += 1000 / 30) session.observe(image, [shopper.face], now);
    };
    feed(dimmed(factors[0]), WINDOW_FRAMES);
    expect(sent.map((m) => m?.monk)).toEqual([shown]);
    // Just past the boundary, for twice the window: held.
    feed(dimmed(factors[near]), 2 * WINDOW_FRAMES);
    expect(sent.map((m) => m?.monk)).toEqual([shown]);
    // Well past it: the median moves once more than half the window reads it, then CHANGE_CONFIRM analyses.
    const deeper = dimmed(factors[far]);
    const flip = Math.floor(WINDOW_FRAMES / 2) + 1;
    feed(deeper, flip + CHANGE_CONFIRM - 2);
    expect(sent).toHaveLength(1);
    feed(deeper, 1);
    expect(sent.map((m) => m?.monk)).toEqual([shown, Math.round(scores[far])]);
  }, 120_000);
});

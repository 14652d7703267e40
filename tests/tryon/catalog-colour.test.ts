/**
 * Colour science: the hand-written per-pixel tables (sRGB <-> linear light, used in the render hot
 * loops) agree with culori, and hexToLab / deltaE2000 are culori's lab65 and CIEDE2000 (checked on
 * Sharma, Wu and Dalal's published CIEDE2000 test pairs).
 */
import { converter, differenceCiede2000, formatHex } from 'culori';
import { describe, expect, it } from 'vitest';
import { deltaE2000, hexToLab, hexToLinear, LINEAR_STEPS, linearToSrgb, luminance, SRGB_TO_LINEAR } from '../../device/tryon/colour.ts';

const lrgb = converter('lrgb');
const toRgb = converter('rgb');
const lab65 = converter('lab65');
/** culori returns undefined for a string it cannot parse; these are all valid hex. */
const toLrgb = (hex: string) => lrgb(hex)!;
const toLab65 = (hex: string) => lab65(hex)!;
const hex2 = (i: number): string => i.toString(16).padStart(2, '0');

describe('per-pixel tables against culori', () => {
  it('SRGB_TO_LINEAR: all 256 values within 1e-6 of culori lrgb', () => {
    let worst = 0;
    for (let i = 0; i < 256; i++) {
      const ref = toLrgb(`#${hex2(i)}0000`).r;
      worst = Math.max(worst, Math.abs(SRGB_TO_LINEAR[i] - ref));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('linearToSrgb: every 8-bit value round-trips, and on a fine sweep it is culori rgb rounded (off by at most 1 between table steps)', () => {
    for (let i = 0; i < 256; i++) expect(linearToSrgb(SRGB_TO_LINEAR[i])).toBe(i);
    let off = 0;
    for (let k = 0; k <= 20_000; k++) {
      const v = k / 20_000;
      const ref = Math.round(toRgb({ mode: 'lrgb', r: v, g: 0, b: 0 }).r * 255);
      const d = Math.abs(linearToSrgb(v) - ref);
      expect(d, `linear ${v}`).toBeLessThanOrEqual(1);
      if (d > 0) off++;
    }
    // The table has LINEAR_STEPS steps: only values near a rounding boundary land one code away.
    expect(off / 20_000).toBeLessThan(0.05);
    expect(LINEAR_STEPS).toBeGreaterThanOrEqual(4096);
    expect([linearToSrgb(-0.2), linearToSrgb(1.7)]).toEqual([0, 255]);
  });

  it('hexToLinear and luminance: culori lrgb of the hex, Rec. 709 weights (white 1, black 0)', () => {
    for (const hex of ['#a4213f', '#f4dccf', '#3f2621', '#1f2a4d', '#ffffff']) {
      const ref = toLrgb(hex);
      const [r, g, b] = hexToLinear(hex);
      expect(Math.max(Math.abs(r - ref.r), Math.abs(g - ref.g), Math.abs(b - ref.b))).toBeLessThan(1e-6);
    }
    expect(luminance(...hexToLinear('#ffffff'))).toBeCloseTo(1, 6);
    expect(luminance(...hexToLinear('#000000'))).toBe(0);
  });
});

describe('culori wrappers', () => {
  it('hexToLab is culori lab65, and its sRGB round trip returns the hex', () => {
    const [l, a, b] = hexToLab('#a4213f');
    const ref = toLab65('#a4213f');
    expect([l, a, b]).toEqual([ref.l, ref.a, ref.b]);
    expect(hexToLab('#ffffff')[0]).toBeCloseTo(100, 4);
    expect(formatHex({ mode: 'lab65', l, a, b })).toBe('#a4213f');
    expect(() => hexToLab('red')).toThrow(/not a colour/);
  });

  it('deltaE2000 matches the published CIEDE2000 test data (Sharma et al. 2005) and accepts hex or lab', () => {
    // [L1, a1, b1, L2, a2, b2, ΔE00] from the paper's table (pairs 1, 7, 13, 17, 25, 34).
    const pairs: Array<[number, number, number, number, number, number, number]> = [
      [50, 2.6772, -79.7751, 50, 0, -82.7485, 2.0425],
      [50, 0, 0, 50, -1, 2, 2.3669],
      [50, 2.49, -0.001, 50, -2.49, 0.0011, 7.2195],
      [50, 2.5, 0, 73, 25, -18, 27.1492],
      [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
      [2.0776, 0.0795, -1.135, 0.9033, -0.0636, -0.5514, 0.9082],
    ];
    for (const [l1, a1, b1, l2, a2, b2, expected] of pairs) expect(deltaE2000([l1, a1, b1], [l2, a2, b2])).toBeCloseTo(expected, 4);
    const ciede = differenceCiede2000();
    expect(deltaE2000('#a4213f', '#b3121f')).toBeCloseTo(ciede(toLab65('#a4213f'), toLab65('#b3121f')), 10);
    expect(deltaE2000('#a4213f', hexToLab('#a4213f'))).toBeLessThan(1e-9);
  });
});

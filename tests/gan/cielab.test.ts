/**
 * The device's one numeric colour module (device/core/cielab.ts), which the GAN guard and the
 * advisor use per pixel, against culori (the library the rest of the project judges colour with):
 *   - CIEDE2000 on Sharma, Wu and Dalal's published pairs and on random CIELAB pairs;
 *   - sRGB → CIELAB D65 on byte and on fractional code values (a box mean of bytes).
 */
import { converter, differenceCiede2000 } from 'culori';
import { describe, expect, it } from 'vitest';
import { srgbToLab as advisorSrgbToLab } from '../../device/advisor/lab.ts';
import { deltaE2000, srgbToLab } from '../../device/core/cielab.ts';

let seed = 7;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

describe('numeric colour module', () => {
  it('CIEDE2000 agrees with the published pairs and with culori', () => {
    // Sharma, Wu and Dalal (2005), table 1: pairs 1, 17, 25.
    expect(deltaE2000(50, 2.6772, -79.7751, 50, 0, -82.7485)).toBeCloseTo(2.0425, 4);
    expect(deltaE2000(50, 2.5, 0, 73, 25, -18)).toBeCloseTo(27.1492, 4);
    expect(deltaE2000(60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387)).toBeCloseTo(1.2644, 4);
    const de = differenceCiede2000();
    for (let k = 0; k < 300; k++) {
      const [L1, a1, b1, L2, a2, b2] = [50 + 45 * (2 * rand() - 1), 80 * (2 * rand() - 1), 80 * (2 * rand() - 1), 50 + 45 * (2 * rand() - 1), 80 * (2 * rand() - 1), 80 * (2 * rand() - 1)];
      expect(deltaE2000(L1, a1, b1, L2, a2, b2)).toBeCloseTo(de({ mode: 'lab65', l: L1, a: a1, b: b1 }, { mode: 'lab65', l: L2, a: a2, b: b2 }), 6);
    }
  });

  it('sRGB → CIELAB agrees with culori on byte and fractional code values', () => {
    const toLab = converter('lab65');
    const out = new Float64Array(6);
    for (let k = 0; k < 2000; k++) {
      const fractional = k % 2 === 1;
      const v = () => (fractional ? rand() * 255 : Math.floor(rand() * 256));
      const [r, g, b] = [v(), v(), v()];
      const ref = toLab({ mode: 'rgb', r: r / 255, g: g / 255, b: b / 255 });
      srgbToLab(r, g, b, out, 3);
      expect(out[3], `${r} ${g} ${b}`).toBeCloseTo(ref.l, 4);
      expect(out[4]).toBeCloseTo(ref.a, 4);
      expect(out[5]).toBeCloseTo(ref.b, 4);
    }
    // The advisor's lab.ts is this module's (a re-export), not a second copy.
    expect(advisorSrgbToLab).toBe(srgbToLab);
  });
});

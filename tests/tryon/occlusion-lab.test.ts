/**
 * The occlusion gate's hot-loop sRGB → CIELAB conversion (lookup tables) agrees with culori's
 * lab65, the space every ΔE2000 in the project is measured in: over the whole sRGB cube (a 9-step
 * grid per channel, every grey, and the extremes) the difference stays below ΔE2000 0.05.
 */
import { converter, differenceCiede2000 } from 'culori';
import { describe, expect, it } from 'vitest';
import { srgbToLab } from '../../device/tryon/occlusion/lab-plane.ts';

const toLab = converter('lab65');
const deltaE = differenceCiede2000();

describe('occlusion gate Lab conversion', () => {
  it('matches culori lab65 within ΔE2000 0.05 over the sRGB cube', () => {
    const steps = [0, 1, 8, 32, 64, 96, 128, 160, 192, 224, 254, 255];
    const samples: Array<[number, number, number]> = [];
    for (const r of steps) for (const g of steps) for (const b of steps) samples.push([r, g, b]);
    for (let v = 0; v < 256; v++) samples.push([v, v, v]);
    const out = new Float32Array(3);
    let worst = 0;
    for (const [r, g, b] of samples) {
      srgbToLab(r, g, b, out, 0);
      const ref = toLab({ mode: 'rgb', r: r / 255, g: g / 255, b: b / 255 });
      worst = Math.max(worst, deltaE({ mode: 'lab65', l: out[0], a: out[1], b: out[2] }, ref));
    }
    console.log(`worst ΔE2000 vs culori over ${samples.length} colours: ${worst.toFixed(4)}`);
    expect(worst).toBeLessThan(0.05);
  });
});

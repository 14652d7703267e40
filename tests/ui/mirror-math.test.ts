/** The kiosk's pure maths: how a camera frame covers the glass, and what the HUD reports. */
import { describe, expect, it } from 'vitest';
import { coverFit, imageToScreen, screenToSplit, splitToScreen } from '../../ui/src/lib/geometry.ts';
import { fmt, fmtBackends } from '../../ui/src/lib/hud/format.ts';
import { RateMeter, SampleWindow } from '../../ui/src/lib/metrics.ts';

describe('cover fit on the portrait glass', () => {
  it('landscape camera on a portrait screen leaves no black bars and crops the sides equally', () => {
    const fit = coverFit(640, 480, 1080, 1920);
    expect(fit.scale).toBe(4);
    expect(fit.dh).toBe(1920);
    expect(fit.dy).toBe(0);
    expect(fit.dw).toBe(2560);
    expect(fit.dx).toBe(-740);
    expect(fit.dx + fit.dw).toBe(1080 - fit.dx); // centred
  });

  it('a camera already wider than tall on a landscape screen is cropped top and bottom', () => {
    const fit = coverFit(640, 480, 1920, 1080);
    expect(fit.dw).toBe(1920);
    expect(fit.dx).toBe(0);
    expect(fit.dy).toBeLessThan(0);
  });

  it('zero-sized frame or screen (before layout) draws nothing instead of dividing by zero', () => {
    expect(coverFit(0, 480, 1080, 1920).scale).toBe(0);
    expect(coverFit(640, 480, 0, 0).scale).toBe(0);
  });

  it("the shopper's left (image right) lands on the left of the glass, like a real mirror", () => {
    const fit = coverFit(640, 480, 1080, 1920);
    const [centreX] = imageToScreen(fit, 1080, 320, 240);
    expect(centreX).toBe(540);
    const [rightOfImage] = imageToScreen(fit, 1080, 400, 240);
    expect(rightOfImage).toBeLessThan(540);
    const [, y] = imageToScreen(fit, 1080, 320, 0);
    expect(y).toBe(0);
  });
});

describe('HUD measurements', () => {
  it('percentiles come from the last samples only, nearest rank', () => {
    const w = new SampleWindow(100);
    for (let i = 1; i <= 100; i++) w.add(i);
    expect(w.percentiles(50, 95)).toEqual([50, 95]);
    for (let i = 0; i < 100; i++) w.add(1000); // the window rolls over: old samples are gone
    expect(w.percentiles(50, 95)).toEqual([1000, 1000]);
    expect(w.size).toBe(100);
  });

  it('no samples yet reads as NaN (shown as a dash), and NaN samples are ignored', () => {
    const w = new SampleWindow(10);
    w.add(Number.NaN);
    expect(w.size).toBe(0);
    expect(w.percentiles(50).every(Number.isNaN)).toBe(true);
    expect(fmt(Number.NaN)).toBe('—');
    expect(fmt(undefined)).toBe('—');
    expect(fmt(29.97, 1)).toBe('30.0');
  });

  it('painted fps counts the last second only', () => {
    const m = new RateMeter(1000);
    for (let t = 0; t < 1000; t += 1000 / 30) m.mark(t);
    expect(m.rate(999)).toBe(30);
    expect(m.rate(5000)).toBe(0); // frames stopped: fps falls to zero, not frozen at the last value
  });

  it('backends read as model=backend pairs', () => {
    expect(fmtBackends({ detector: 'onnx-cpu', mesh: 'tfjs-wasm' })).toBe('detector=onnx-cpu mesh=tfjs-wasm');
    expect(fmtBackends({})).toBe('—');
    expect(fmtBackends(undefined)).toBe('—');
  });
});

describe('before/after handle on the cropped, mirrored glass', () => {
  it('the handle at a split sits over the frame column the daemon splits at (displayed left = frame right)', () => {
    for (const [w, h] of [[1080, 1920], [1920, 1080], [1280, 800]] as const) {
      const fit = coverFit(640, 480, w, h);
      for (const split of [0.3, 0.5, 0.62]) {
        const frameX = (1 - split) * 640; // the daemon's split, in the unmirrored frame
        expect(splitToScreen(fit, split)).toBeCloseTo(imageToScreen(fit, w, frameX, 0)[0], 6);
        expect(screenToSplit(fit, splitToScreen(fit, split))).toBeCloseTo(split, 9);
      }
    }
  });

  it('on the portrait glass the visible part is the middle of the frame: the screen centre is 0.5', () => {
    const fit = coverFit(640, 480, 1080, 1920);
    expect(screenToSplit(fit, 540)).toBeCloseTo(0.5, 9);
    expect(screenToSplit(fit, 0)).toBeCloseTo(740 / 2560, 9);
  });
});

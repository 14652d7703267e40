/**
 * The soak's verdict on recorded samples (pure data, no timing): a memory leak after warm-up
 * and a frame-rate collapse each fail it, naming why; noise, GC spikes and warm-up do not.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_VERDICT, soakVerdict, tableHeader, tableNote, tableRow, type SoakSample } from '../../device/bench/soak/verdict.ts';

const OPTIONS = { ...DEFAULT_VERDICT, warmupS: 60, targetFps: 30 };

/** One sample every 10 s for `minutes`; rss and fps from functions of time. */
function run(minutes: number, rss: (tS: number) => number, fps: (tS: number) => number = () => 29.5): SoakSample[] {
  const out: SoakSample[] = [];
  for (let tS = 10; tS <= minutes * 60; tS += 10) {
    out.push({ tS, rssMb: rss(tS), heapMb: 60 + (tS % 30) / 10, fps: fps(tS), p95Ms: 31, paintP95Ms: 88, drops: 2, kioskSkipped: 1 });
  }
  return out;
}

// A recorded-looking wobble: ±1.5 MB around 412 MB.
const wobble = (tS: number) => 412 + 1.5 * Math.sin(tS / 37);

describe('soak verdict', () => {
  it('flat RSS with noise and a single GC spike passes', () => {
    const v = soakVerdict(run(5, (t) => wobble(t) + (t === 150 ? 40 : 0)), OPTIONS);
    expect(v.reasons).toEqual([]);
    expect(v.pass).toBe(true);
    expect(Math.abs(v.rssGrowth!)).toBeLessThan(0.01);
  });

  it('a slow leak after warm-up (about 7.7 % over the run) fails, naming RSS and both sizes', () => {
    const v = soakVerdict(run(5, (t) => 400 + (t > 60 ? (t - 60) * 0.14 : 0)), OPTIONS);
    expect(v.pass).toBe(false);
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatch(/^RSS grew 7\.7 % after warm-up \(401\.4 → 432\.2 MB\), limit 5 %$/);
  });

  it('growth during warm-up only (models, caches, JIT) does not count', () => {
    const v = soakVerdict(run(5, (t) => (t < 60 ? 200 + t * 3 : 380 + Math.sin(t))), OPTIONS);
    expect(v.pass).toBe(true);
  });

  it('growth at the 5 % limit fails; just under it passes', () => {
    const at = soakVerdict(run(5, (t) => (t < 200 ? 400 : 420)), OPTIONS);
    expect(at.pass).toBe(false);
    expect(at.rssGrowth).toBeCloseTo(0.05, 6);
    const under = soakVerdict(run(5, (t) => (t < 200 ? 400 : 419.6)), OPTIONS);
    expect(under.pass).toBe(true);
  });

  it('one sampling window below half the configured fps after warm-up fails, naming when and how low', () => {
    const v = soakVerdict(run(5, wobble, (t) => (t === 200 ? 12.4 : 29)), OPTIONS);
    expect(v.pass).toBe(false);
    expect(v.minFps).toBe(12.4);
    expect(v.reasons).toEqual(['fps collapsed in 1 of 25 windows (worst 12.4 fps at 200 s), floor 15.0 = 50 % of 30 fps']);
  });

  it('a slow start (fps low during warm-up) and a window at exactly half do not fail', () => {
    const v = soakVerdict(run(5, wobble, (t) => (t < 60 ? 3 : t === 120 ? 15 : 28)), OPTIONS);
    expect(v.pass).toBe(true);
  });

  it('a leak and a collapse together give both reasons', () => {
    const v = soakVerdict(run(5, (t) => 400 + t * 0.3, (t) => (t > 250 ? 5 : 29)), OPTIONS);
    expect(v.reasons.map((r) => r.split(' ')[0])).toEqual(['RSS', 'fps']);
  });

  it('a sample the daemon did not answer fails an otherwise flat run, saying how many', () => {
    const v = soakVerdict(run(5, wobble), OPTIONS, 2);
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['the daemon did not answer 2 samples (/healthz or the memory probe)']);
  });

  it('too few samples after warm-up cannot pass', () => {
    const v = soakVerdict(run(1.5, wobble), OPTIONS);
    expect(v.pass).toBe(false);
    expect(v.reasons[0]).toMatch(/^too few samples after the 60 s warm-up: 4, need 6/);
  });

  it('prints one aligned row per sample under the header', () => {
    const [s] = run(1, wobble);
    expect(tableHeader()).toBe('    time   rss MB  heap MB    fps  p95 ms paint p95   drops  skipped');
    expect(tableRow(s)).toBe('    0:10    412.4     61.0   29.5    31.0      88.0       2        1');
    expect(tableRow({ ...s, p95Ms: null, paintP95Ms: null }).length).toBe(tableHeader().length);
    expect(tableNote(725, 'no answer: timeout')).toBe('   12:05  no answer: timeout');
  });
});

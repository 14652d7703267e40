/**
 * The soak's judgement, pure data in and out (unit-tested on recorded samples): memory flat
 * after warm-up, and the frame rate never collapsing.
 *
 *   RSS growth: the median RSS of the last few samples against the median of the first few
 *   after warm-up (medians, so one GC pause or one burst does not decide it), below 5 %.
 *   Collapse: any post-warm-up sampling window whose fps is below half of the configured fps.
 *   Unanswered: a sample the daemon did not answer (/healthz or the memory probe) is a failure too.
 */

export interface SoakSample {
  /** Seconds since the soak started. */
  tS: number;
  rssMb: number;
  heapMb: number;
  /** The daemon's pipeline fps over its last stats window (/healthz). */
  fps: number;
  /** Capture-to-emit p95 (/healthz). */
  p95Ms: number | null;
  /** Capture-to-paint p95 as the kiosk reported it (/healthz). */
  paintP95Ms: number | null;
  /** Frames the pipeline dropped since the previous sample. */
  drops: number;
  /** Frames a kiosk client skipped since the previous sample (it had not received the last yet). */
  kioskSkipped: number;
}

export interface VerdictOptions {
  warmupS: number;
  /** The fps the source is configured for (the clip's or the camera's). */
  targetFps: number;
  /** Largest allowed RSS growth after warm-up, as a fraction (0.05 = 5 %). */
  maxRssGrowth: number;
  /** A window below this fraction of targetFps is a collapse. */
  minFpsRatio: number;
  /** How many samples form the start and end medians. */
  edgeSamples: number;
}

export const DEFAULT_VERDICT: Omit<VerdictOptions, 'warmupS' | 'targetFps'> = { maxRssGrowth: 0.05, minFpsRatio: 0.5, edgeSamples: 3 };

export interface Verdict {
  pass: boolean;
  /** One line per failed rule; empty when it passed. */
  reasons: string[];
  rssGrowth: number | null;
  rssStartMb: number | null;
  rssEndMb: number | null;
  minFps: number | null;
  /** Post-warm-up samples the verdict used. */
  judged: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `unanswered`: samples the daemon did not answer in time (they are not in `samples`). */
export function soakVerdict(samples: SoakSample[], options: VerdictOptions, unanswered = 0): Verdict {
  const after = samples.filter((s) => s.tS >= options.warmupS);
  const reasons: string[] = unanswered > 0 ? [`the daemon did not answer ${unanswered} sample${unanswered === 1 ? '' : 's'} (/healthz or the memory probe)`] : [];
  const n = options.edgeSamples;
  if (after.length < 2 * n) {
    reasons.push(`too few samples after the ${options.warmupS} s warm-up: ${after.length}, need ${2 * n} (run longer or sample more often)`);
    return { pass: false, reasons, rssGrowth: null, rssStartMb: null, rssEndMb: null, minFps: null, judged: after.length };
  }
  const rssStartMb = median(after.slice(0, n).map((s) => s.rssMb));
  const rssEndMb = median(after.slice(-n).map((s) => s.rssMb));
  const rssGrowth = (rssEndMb - rssStartMb) / rssStartMb;
  if (rssGrowth >= options.maxRssGrowth) {
    reasons.push(
      `RSS grew ${(rssGrowth * 100).toFixed(1)} % after warm-up (${rssStartMb.toFixed(1)} → ${rssEndMb.toFixed(1)} MB), limit ${(options.maxRssGrowth * 100).toFixed(0)} %`,
    );
  }
  const floor = options.targetFps * options.minFpsRatio;
  const collapsed = after.filter((s) => s.fps < floor);
  if (collapsed.length > 0) {
    const worst = collapsed.reduce((a, b) => (b.fps < a.fps ? b : a));
    reasons.push(
      `fps collapsed in ${collapsed.length} of ${after.length} windows (worst ${worst.fps.toFixed(1)} fps at ${worst.tS.toFixed(0)} s), floor ${floor.toFixed(1)} = ${options.minFpsRatio * 100} % of ${options.targetFps} fps`,
    );
  }
  const minFps = Math.min(...after.map((s) => s.fps));
  return { pass: reasons.length === 0, reasons, rssGrowth, rssStartMb, rssEndMb, minFps, judged: after.length };
}

const COLUMNS = ['time', 'rss MB', 'heap MB', 'fps', 'p95 ms', 'paint p95', 'drops', 'skipped'] as const;
const WIDTHS = [8, 8, 8, 6, 7, 9, 7, 8];

function cell(v: string, i: number): string {
  return v.padStart(WIDTHS[i]);
}

export function tableHeader(): string {
  return COLUMNS.map(cell).join(' ');
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

const num = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));

export function tableRow(s: SoakSample): string {
  return [clock(s.tS), num(s.rssMb, 1), num(s.heapMb, 1), num(s.fps, 1), num(s.p95Ms, 1), num(s.paintP95Ms, 1), String(s.drops), String(s.kioskSkipped)].map(cell).join(' ');
}

/** A row that carries a note instead of numbers (a sample that was not answered). */
export function tableNote(tS: number, note: string): string {
  return `${cell(clock(tS), 0)}  ${note}`;
}

export function describeVerdict(v: Verdict): string {
  const lines = [
    v.pass ? 'PASS' : 'FAIL',
    `  RSS after warm-up: ${num(v.rssStartMb, 1)} → ${num(v.rssEndMb, 1)} MB (${v.rssGrowth === null ? '-' : (v.rssGrowth * 100).toFixed(2)} %)`,
    `  lowest fps after warm-up: ${num(v.minFps, 1)} over ${v.judged} windows`,
    ...v.reasons.map((r) => `  ${r}`),
  ];
  return lines.join('\n');
}

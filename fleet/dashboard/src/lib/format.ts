/** Times in the store's own zone, durations and shares, the way the dashboard prints them. */

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = tz + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) cache.set(key, (f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, ...opts })));
  return f;
}

/** `1 Dec, 15:04`. */
export const dateTime = (t: number, tz: string) => fmt(tz, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
/** `15:00`. */
export const hour = (t: number, tz: string) => fmt(tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
/** `Tue 1 Dec`. */
export const day = (t: number, tz: string) => fmt(tz, { weekday: 'short', day: 'numeric', month: 'short' }).format(t);
/** The zone's short name at `t` (`CET`, `GMT+9`). */
export const zoneName = (t: number, tz: string) =>
  fmt(tz, { timeZoneName: 'short' }).formatToParts(t).find((p) => p.type === 'timeZoneName')?.value ?? tz;

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export const percent = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)} %`);

export function ago(t: number | null, now = Date.now()): string {
  if (t === null) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export const short = (hex: string, n = 12) => (hex.length > n ? `${hex.slice(0, n)}…` : hex);

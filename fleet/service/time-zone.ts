/**
 * A store's wall clock: IANA time zones through the runtime's own Intl data (no tz library, no
 * table of offsets to keep current). The dashboard groups sessions by the store's local hour and
 * day, and shows every time in the store's zone, whatever zone the server or the browser is in.
 */

export const DEFAULT_TIME_ZONE = 'UTC';

const formats = new Map<string, Intl.DateTimeFormat>();

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(tz, f);
  }
  return f;
}

/** Whether the runtime knows `tz` as an IANA zone name ("Europe/Paris", "UTC"). */
export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(tz)) return false;
  try {
    format(tz);
    return true;
  } catch {
    return false;
  }
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localTime(t: number, tz: string): LocalTime {
  const p: Record<string, number> = {};
  for (const part of format(tz).formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second };
}

/** The zone's offset from UTC at `t`, in ms (Paris in winter: +3,600,000). */
export function offsetMs(t: number, tz: string): number {
  const l = localTime(t, tz);
  const asUtc = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The start of the local hour `t` falls in. */
export function hourStart(t: number, tz: string): number {
  const l = localTime(t, tz);
  return t - l.minute * 60_000 - l.second * 1000 - (((t % 1000) + 1000) % 1000);
}

/** Local midnight of the day `t` falls in (the first instant of that local date). */
export function dayStart(t: number, tz: string): number {
  const l = localTime(t, tz);
  const guess = Date.UTC(l.year, l.month - 1, l.day) - offsetMs(t, tz);
  // The offset at midnight can differ from the one at `t` (a DST change that day): correct once.
  return Date.UTC(l.year, l.month - 1, l.day) - offsetMs(guess, tz);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-12-01`: the local date. */
export function dateKey(t: number, tz: string): string {
  const l = localTime(t, tz);
  return `${pad(l.year, 4)}-${pad(l.month)}-${pad(l.day)}`;
}

/** `2026-12-01T15`: the local date and hour. */
export function hourKey(t: number, tz: string): string {
  return `${dateKey(t, tz)}T${pad(localTime(t, tz).hour)}`;
}

/** `2026-12-01T15:00:00+01:00`: ISO 8601 in local time with the offset (what a spreadsheet reads). */
export function isoLocal(t: number, tz: string): string {
  const l = localTime(t, tz);
  const off = Math.round(offsetMs(t, tz) / 60_000);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${pad(l.year, 4)}-${pad(l.month)}-${pad(l.day)}T${pad(l.hour)}:${pad(l.minute)}:${pad(l.second)}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

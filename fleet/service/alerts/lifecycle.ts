/**
 * One alert's life, as a pure step: given the live row for a kind + subject (if any) and what the
 * rules observe now, what changes. Kept apart from the store so the timing rules (pending for
 * `forMs`, hold-down for `clearAfterMs`) are one small function with no clock of its own.
 *
 *   (none) --raise--> pending --raise held forMs--> open --hold gone clearAfterMs--> closed
 *                        └── raise gone: dropped       └── hold back before that: stays open (a flap)
 *
 * `raise` is the strict condition that opens an alert, `hold` the looser one that keeps it open
 * (hysteresis): a mirror that comes back for a few seconds and drops again stays one alert.
 */

export type AlertKind = 'offline' | 'degraded' | 'fps' | 'temperature' | 'update-failed' | 'ingest-stuck';
export const ALERT_KINDS: readonly AlertKind[] = ['offline', 'degraded', 'fps', 'temperature', 'update-failed', 'ingest-stuck'];

/** What the rules see for one kind and subject; undefined where they cannot tell (no fresh data). */
export interface Observation {
  raise: boolean;
  hold: boolean;
  summary: string;
}

export interface LiveAlert {
  id: string;
  status: 'pending' | 'open';
  firstTrueAt: number;
  falseSince: number | null;
}

export interface Timing {
  forMs: number;
  clearAfterMs: number;
}

export type Step =
  | 'none'
  /** Insert a pending row (the condition has to hold `forMs` first). */
  | 'start-pending'
  /** Open the alert (insert it open, or promote the pending row): notify. */
  | 'raise'
  /** The condition went away before `forMs`: never an alert. */
  | 'drop-pending'
  /** The first evaluation with the condition gone: the hold-down starts. */
  | 'mark-false'
  /** The condition is back within the hold-down: still the same alert (counted as a flap). */
  | 'mark-true'
  /** Gone for the whole hold-down: close it, notify. */
  | 'clear';

export function step(live: LiveAlert | undefined, obs: Observation | undefined, now: number, t: Timing): Step {
  if (obs === undefined) return 'none';
  if (live === undefined) {
    if (!obs.raise) return 'none';
    return t.forMs <= 0 ? 'raise' : 'start-pending';
  }
  if (live.status === 'pending') {
    if (!obs.raise) return 'drop-pending';
    return now - live.firstTrueAt >= t.forMs ? 'raise' : 'none';
  }
  if (obs.hold) return live.falseSince === null ? 'none' : 'mark-true';
  if (live.falseSince === null) return 'mark-false';
  return now - live.falseSince >= t.clearAfterMs ? 'clear' : 'none';
}

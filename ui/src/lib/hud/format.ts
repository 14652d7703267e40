/** HUD number formatting: a dash where nothing has been measured yet. */
export function fmt(value: number | null | undefined, digits = 0): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export function fmtBackends(backends: Record<string, string> | undefined): string {
  if (!backends) return '—';
  const entries = Object.entries(backends);
  return entries.length ? entries.map(([model, backend]) => `${model}=${backend}`).join(' ') : '—';
}

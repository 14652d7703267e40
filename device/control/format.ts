/** What mirrorctl prints: a readable /healthz summary and pino JSON log lines made readable. */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown, unit = ''): string => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v * 10) / 10}${unit}` : '-');
const pairs = (o: unknown): string => (isObj(o) && Object.keys(o).length ? Object.entries(o).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ') : '-');

/** The daemon's health (/healthz) as a few aligned lines for a technician. */
export function formatStatus(h: Json): string {
  const mqtt = isObj(h.mqtt) ? h.mqtt : null;
  const update = isObj(h.update) ? h.update : null;
  const outbox = isObj(h.outbox) ? h.outbox : null;
  const source = isObj(h.source) ? h.source : null;
  const degraded = Array.isArray(h.degraded) ? h.degraded : [];
  const rows: Array<[string, string]> = [
    ['state', `${String(h.status ?? '?')} (up ${num(h.uptimeS, ' s')}, firmware ${String(h.firmwareVersion ?? '?')})`],
    ['frames', `${num(h.fps)} fps, last ${num(h.lastFrameAgeMs, ' ms')} ago, ${num(h.processedFrames)} processed, ${num(h.droppedFrames)} dropped, ${num(h.stageErrors)} stage errors`],
    ['latency', `capture→emit p50 ${num(h.latencyP50Ms, ' ms')} p95 ${num(h.latencyP95Ms, ' ms')}, capture→paint p95 ${num(h.paintLatencyP95Ms, ' ms')}`],
    ['source', source ? String(source.description ?? source.spec ?? '?') : '-'],
    ['degraded', degraded.length ? degraded.map((d) => (isObj(d) ? `${String(d.component)}: ${String(d.reason)}` : String(d))).join('; ') : 'none'],
    ['models', pairs(h.models)],
    ['backends', pairs(h.backends)],
    ['update', update ? pairs(update) : 'idle'],
    ['mqtt', mqtt ? `${mqtt.connected ? 'connected' : 'NOT connected'} to ${String(mqtt.url)}${mqtt.embedded ? ' (embedded broker)' : ''}` : '-'],
    ['outbox', outbox ? pairs(outbox) : '-'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/**
 * One pino line as `HH:MM:SS.mmm LEVEL message key=value ...`; a leading syslog `<N>` (a daemon
 * writing to the journal, read with -o cat it is already gone) is dropped; non-JSON stays as is.
 */
export function formatLogLine(line: string): string {
  const text = line.replace(/^<\d>/, '');
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return line;
  }
  if (!isObj(entry)) return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '--:--:--.---';
  const level = (typeof entry.level === 'number' ? LEVELS[entry.level] : undefined) ?? String(entry.level ?? '?');
  const fields = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [time, level.padEnd(5), String(entry.msg ?? ''), ...fields].join(' ').trimEnd();
}

/** What the operator CLI prints for each fleet service answer. */
import { describeSelector } from '../service/rollouts/selector.ts';
import { ago, bar, table } from './table.ts';
import type { AlertList, AuditList, DeviceList, RolloutList, RolloutSummaryView, RolloutView, StoreList, StoreStatsAnswer } from './responses.ts';
import type { z } from 'zod';

const statusWord = (r: RolloutView) => r.status + (r.statusReason ? ` (${r.statusReason})` : '');

export function rolloutView(s: RolloutSummaryView): string {
  const r = s.rollout;
  const artifact = s.artifact ? `${s.artifact.name} ${s.artifact.version}` : '';
  const waves = s.waves.map(({ wave, size, counts: c }) => {
    const n = (k: string) => c[k] ?? 0;
    const done = n('succeeded') + n('failed') + n('timed-out') + n('cancelled') + n('skipped');
    const running = n('offered') + n('in-progress') + n('committed');
    return [wave === 0 ? '0 (canary)' : wave, size, bar(size ? done / size : 0, 16), n('succeeded'), n('failed'), n('timed-out'), running, n('queued'), n('pending'), n('skipped')];
  });
  return [
    `rollout ${r.id}  ${r.status.toUpperCase()}${r.statusReason ? ` (${r.statusReason})` : ''}`,
    `artifact ${s.artifact?.id ?? r.artifactId}  ${artifact}   to ${describeSelector(r.selector)}   ${r.targets} devices, by ${r.createdBy}`,
    `progress ${bar(s.progress)}   wave ${r.wave + 1} of ${r.waves}`,
    '',
    table(
      ['wave', 'size', 'progress', 'ok', 'failed', 'timed out', 'running', 'queued', 'pending', 'skipped'],
      waves,
      ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  ].join('\n');
}

export function rolloutsView(data: z.infer<typeof RolloutList>): string {
  return table(
    ['rollout', 'status', 'artifact', 'targets', 'wave', 'by', 'started'],
    data.rollouts.map((r) => [r.id, statusWord(r), r.artifactId, r.targets, `${r.wave + 1}/${r.waves}`, r.createdBy, ago(r.createdAt)]),
    ['l', 'l', 'l', 'r', 'r', 'l', 'r'],
  );
}

type Device = z.infer<typeof DeviceList>['devices'][number];

/** The hottest temperature a device reports (any thermal zone or the GPU), or '-'. */
function hottest(sys: Device['system']): string {
  const all = [...Object.values(sys?.temperaturesC ?? {}), ...(typeof sys?.gpuTemperatureC === 'number' ? [sys.gpuTemperatureC] : [])];
  return all.length ? Math.max(...all).toFixed(0) : '-';
}

export function devicesView(data: z.infer<typeof DeviceList>, now = Date.now()): string {
  const rows = data.devices.map((d) => [
    d.storeId,
    d.deviceId,
    d.state,
    d.health + (d.problems?.length && d.health !== 'ok' ? ` (${d.problems.join('; ')})` : ''),
    d.firmwareVersion,
    Object.entries(d.models ?? {}).map(([k, v]) => `${k}@${v}`).join(' ') || '-',
    d.fps === null ? '-' : d.fps.toFixed(1),
    d.latencyP95Ms === null ? '-' : d.latencyP95Ms.toFixed(0),
    typeof d.system?.cpuLoad === 'number' ? (d.system.cpuLoad * 100).toFixed(0) : '-',
    hottest(d.system),
    ago(d.lastSeen, now),
  ]);
  const headers = ['store', 'device', 'state', 'health', 'firmware', 'models', 'fps', 'p95 ms', 'cpu %', 'max °C', 'last seen'];
  return table(headers, rows, ['l', 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r']) + `\n${data.devices.length} device(s)`;
}

export function auditView(data: z.infer<typeof AuditList>): string {
  return table(
    ['when', 'who', 'action', 'target', 'detail'],
    data.audit.map((a) => [new Date(a.ts).toISOString(), a.actor, a.action, a.target, a.detail ? JSON.stringify(a.detail).slice(0, 80) : '']),
  );
}

export function storesView(data: z.infer<typeof StoreList>): string {
  return (
    table(
      ['store', 'name', 'time zone', 'devices', 'online'],
      data.stores.map((st) => [st.storeId, st.name, st.timeZone, st.devices, st.online]),
      ['l', 'l', 'l', 'r', 'r'],
    ) + `\n${data.stores.length} store(s)`
  );
}

/** A local date and time in the store's zone: `2026-12-01 15:04`. */
function localStamp(t: number, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(t);
}

const pctOf = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(0)}%`);

export function statsView(s: z.infer<typeof StoreStatsAnswer>): string {
  const dwell = s.dwell.medianMs === null ? '-' : `${(s.dwell.medianMs / 1000).toFixed(0)} s (of ${s.dwell.measured} ended sessions)`;
  const health = Object.entries(s.health).map(([k, n]) => `${n} ${k}`).join(', ') || 'none reporting';
  const top = (xs: Array<{ productId: string; count: number }>) => (xs.length ? xs.map((p) => `${p.productId} (${p.count})`).join(', ') : '-');
  return [
    `store ${s.storeId}  ${localStamp(s.from, s.timeZone)} to ${localStamp(s.to - 1, s.timeZone)}  (${s.timeZone})`,
    `sessions ${s.sessions}   tried a product ${s.sessionsTried}   saved a look ${s.sessionsSaved}   try-to-save ${pctOf(s.conversion)}`,
    `median dwell ${dwell}`,
    `top tried  ${top(s.productsTried)}`,
    `top saved  ${top(s.productsSaved)}`,
    `mirrors    ${s.devices} (${health})`,
    '',
    table(
      ['day', 'sessions', 'tried', 'saved'],
      s.daily.map((d) => [d.key, d.sessions, d.tried, d.saved]),
      ['l', 'r', 'r', 'r'],
    ),
  ].join('\n');
}

export function alertsView(data: z.infer<typeof AlertList>, now = Date.now()): string {
  if (data.alerts.length === 0) return 'no alerts';
  return table(
    ['id', 'status', 'kind', 'subject', 'raised', 'cleared', 'flaps', 'acked by', 'summary'],
    data.alerts.map((a) => [a.id, a.status, a.kind, a.subject, ago(a.raisedAt, now), ago(a.clearedAt, now), a.flaps, a.ackedBy, a.summary.slice(0, 80)]),
    ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'],
  );
}

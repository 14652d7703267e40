/**
 * Which devices a rollout targets: stores, tags, explicit devices (OR within a kind, AND across
 * kinds), then a percentage of what matched. Order is a stable hash of the rollout id and the
 * device, so canary and waves are spread across stores and the same rollout always picks the
 * same devices.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/topics.ts';
import type { DeviceRow } from '../store/fleet-store.ts';

const Id = z.string().regex(ID_PATTERN, { error: 'must match [A-Za-z0-9_-]{1,64}' });

export const SelectorSchema = z
  .object({
    stores: z.array(Id).max(10_000).optional(),
    tags: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/)).max(100).optional(),
    /** `store/device` or a bare device id. */
    devices: z.array(z.string().regex(/^([A-Za-z0-9_-]{1,64}\/)?[A-Za-z0-9_-]{1,64}$/)).max(100_000).optional(),
    percent: z.number().gt(0).max(100).optional(),
  })
  .strict();
export type Selector = z.infer<typeof SelectorSchema>;

/**
 * The CLI's `--to`: comma-separated `all`, `store=ID`, `tag=T`, `device=[STORE/]ID`, `N%`.
 * e.g. `store=paris-01,store=lyon-02,tag=pilot,25%`.
 */
export function parseSelectorString(s: string): Selector {
  const sel: { stores?: string[]; tags?: string[]; devices?: string[]; percent?: number } = {};
  for (const raw of s.split(',').map((t) => t.trim()).filter(Boolean)) {
    if (raw === 'all') continue;
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(raw);
    if (pct) {
      sel.percent = Number(pct[1]);
      continue;
    }
    const m = /^(store|tag|device)=(.+)$/.exec(raw);
    if (!m) throw new TypeError(`selector term "${raw}": expected all, store=ID, tag=T, device=[STORE/]ID or N%`);
    const key = m[1] === 'store' ? 'stores' : m[1] === 'tag' ? 'tags' : 'devices';
    (sel[key] ??= []).push(m[2]);
  }
  const r = SelectorSchema.safeParse(sel);
  if (!r.success) throw new TypeError(`selector: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  return r.data;
}

export function describeSelector(s: Selector): string {
  const parts: string[] = [];
  for (const x of s.stores ?? []) parts.push(`store=${x}`);
  for (const x of s.tags ?? []) parts.push(`tag=${x}`);
  for (const x of s.devices ?? []) parts.push(`device=${x}`);
  if (s.percent !== undefined) parts.push(`${s.percent}%`);
  return parts.length ? parts.join(',') : 'all';
}

const rank = (seed: string, d: DeviceRow) => createHash('sha256').update(`${seed}\n${d.storeId}/${d.deviceId}`).digest('hex');

export function selectDevices(all: DeviceRow[], s: Selector, seed: string): DeviceRow[] {
  const matched = all.filter((d) => {
    if (s.stores && !s.stores.includes(d.storeId)) return false;
    if (s.tags && !s.tags.some((t) => d.tags.includes(t))) return false;
    if (s.devices && !s.devices.some((x) => x === d.deviceId || x === `${d.storeId}/${d.deviceId}`)) return false;
    return true;
  });
  const ordered = matched
    .map((d) => ({ d, k: rank(seed, d) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.d);
  if (s.percent === undefined) return ordered;
  return ordered.slice(0, Math.ceil((ordered.length * s.percent) / 100));
}

/** Canary first, then waves growing by `growth` until every target is in one. */
export function planWaves(targets: number, canaryPercent: number, growth: number): number[] {
  if (targets <= 0) return [];
  const sizes: number[] = [];
  let size = Math.max(1, Math.ceil((targets * canaryPercent) / 100));
  let left = targets;
  while (left > 0) {
    const n = Math.min(left, Math.max(1, Math.round(size)));
    sizes.push(n);
    left -= n;
    size = size * growth;
  }
  return sizes;
}

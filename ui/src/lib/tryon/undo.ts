/**
 * Undo replays commands, not pixels: the kiosk keeps the states the shopper went through and, to
 * go back, sends the daemon the fewest commands that turn the state it has into the one wanted.
 */
import type { TryOnStateMessage } from '../../../../device/transport/events.ts';
import type { TryOnCommand, TryOnPayload } from '../connection.svelte.ts';

export type Step = { [E in TryOnCommand]: { event: E; payload: TryOnPayload<E> } }[TryOnCommand];

type Items = TryOnStateMessage['items'];

/** The commands that take the daemon from `from` to `to` (before/after is a view, not part of it). */
export function stepsToReach(from: Pick<TryOnStateMessage, 'items' | 'lookId'>, to: Pick<TryOnStateMessage, 'items' | 'lookId'>): Step[] {
  if (sameItems(from.items, to.items)) return [];
  if (to.items.length === 0) return [{ event: 'tryon:clear', payload: {} }];
  // A look id is only kept while its items are untouched: applying it again is exact and one command.
  if (to.lookId !== null && to.lookId !== from.lookId) return [{ event: 'tryon:look', payload: { lookId: to.lookId } }];
  const wanted = new Map(to.items.map((item) => [item.category, item]));
  const steps: Step[] = [];
  for (const item of from.items) {
    if (!wanted.has(item.category)) steps.push({ event: 'tryon:remove', payload: { category: item.category } });
  }
  const had = new Map(from.items.map((item) => [item.category, item]));
  for (const item of to.items) {
    const before = had.get(item.category);
    if (before && sameItem(before, item)) continue;
    // `set` replaces whatever the category had.
    steps.push({ event: 'tryon:set', payload: { productId: item.productId, shadeId: item.shadeId, intensity: item.intensity } });
  }
  return steps;
}

function sameItem(a: Items[number], b: Items[number]): boolean {
  return a.productId === b.productId && a.shadeId === b.shadeId && Math.abs(a.intensity - b.intensity) < 1e-6;
}

export function sameItems(a: Items, b: Items): boolean {
  if (a.length !== b.length) return false;
  const byCategory = new Map(b.map((item) => [item.category, item]));
  return a.every((item) => {
    const other = byCategory.get(item.category);
    return other !== undefined && sameItem(item, other);
  });
}

/**
 * Undo on the kiosk replays commands: from the state the daemon has to the one the shopper goes
 * back to, with the fewest commands, and landing exactly there. The daemon's rules are modelled
 * here only as the events.ts contract states them (set replaces a category, remove takes one
 * category off, look replaces everything, clear empties), to check the steps reach the target.
 */
import { describe, expect, it } from 'vitest';
import type { TryOnStateMessage } from '../../device/transport/events.ts';
import { sameItems, stepsToReach, type Step } from '../../ui/src/lib/tryon/undo.ts';

type State = Pick<TryOnStateMessage, 'items' | 'lookId'>;
const item = (category: string, productId: string, shadeId: string, intensity = 1) => ({ category, productId, shadeId, intensity });
const LOOK = { id: 'date-night', items: [item('lipstick', 'lip-a', 'ruby', 0.8), item('eyeliner', 'liner-a', 'black', 1)] };
const CATEGORY_OF: Record<string, string> = { 'lip-a': 'lipstick', 'lip-b': 'lipstick', 'liner-a': 'eyeliner', 'blush-a': 'blush' };

function apply(state: State, step: Step): State {
  switch (step.event) {
    case 'tryon:clear':
      return { items: [], lookId: null };
    case 'tryon:look':
      return { items: LOOK.items, lookId: LOOK.id };
    case 'tryon:remove':
      return { items: state.items.filter((i) => i.category !== step.payload.category), lookId: null };
    case 'tryon:set': {
      const { productId, shadeId = '', intensity = 1 } = step.payload;
      const category = CATEGORY_OF[productId];
      return { items: [...state.items.filter((i) => i.category !== category), item(category, productId, shadeId, intensity)], lookId: null };
    }
    default:
      throw new Error(`undo must not send ${step.event}`);
  }
}

const reach = (from: State, to: State) => stepsToReach(from, to).reduce(apply, from);

describe('undo steps between try-on states', () => {
  const bare: State = { items: [], lookId: null };
  const lips: State = { items: [item('lipstick', 'lip-a', 'ruby')], lookId: null };
  const lipsAndBlush: State = { items: [item('lipstick', 'lip-a', 'ruby'), item('blush', 'blush-a', 'peach', 0.5)], lookId: null };
  const look: State = { items: LOOK.items, lookId: LOOK.id };

  it('nothing changed: no command', () => {
    expect(stepsToReach(lips, { ...lips })).toEqual([]);
  });

  it('back to bare is one clear', () => {
    expect(stepsToReach(lipsAndBlush, bare)).toEqual([{ event: 'tryon:clear', payload: {} }]);
  });

  it('a product added is taken off by category, the rest untouched', () => {
    expect(stepsToReach(lipsAndBlush, lips)).toEqual([{ event: 'tryon:remove', payload: { category: 'blush' } }]);
  });

  it('a removed product comes back with its shade and intensity', () => {
    expect(stepsToReach(lips, lipsAndBlush)).toEqual([{ event: 'tryon:set', payload: { productId: 'blush-a', shadeId: 'peach', intensity: 0.5 } }]);
  });

  it('an intensity change is undone by setting the old intensity', () => {
    const softer: State = { items: [item('lipstick', 'lip-a', 'ruby', 0.4)], lookId: null };
    expect(stepsToReach(softer, lips)).toEqual([{ event: 'tryon:set', payload: { productId: 'lip-a', shadeId: 'ruby', intensity: 1 } }]);
  });

  it('back to an untouched look is the look itself (one command)', () => {
    expect(stepsToReach(lips, look)).toEqual([{ event: 'tryon:look', payload: { lookId: LOOK.id } }]);
  });

  it('every pair of states: the steps land exactly on the target', () => {
    const states = [bare, lips, lipsAndBlush, look, { items: [item('lipstick', 'lip-b', 'nude', 0.3)], lookId: null }];
    for (const from of states) for (const to of states) expect(sameItems(reach(from, to).items, to.items), `${JSON.stringify(from)} -> ${JSON.stringify(to)}`).toBe(true);
  });
});

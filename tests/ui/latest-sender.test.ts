/** A slider dragged faster than the daemon answers: only the newest value follows the one in flight. */
import { describe, expect, it } from 'vitest';
import { LatestSender } from '../../ui/src/lib/tryon/latest.ts';

describe('latest-wins sender for drags', () => {
  it('values pushed while one is in flight collapse into the newest; nothing is lost at the end', async () => {
    const sent: number[] = [];
    let release: () => void = () => {};
    const sender = new LatestSender<number>((value) => {
      sent.push(value);
      return new Promise<void>((resolve) => (release = resolve));
    });
    sender.push(1);
    for (let v = 2; v <= 50; v++) sender.push(v);
    expect(sent).toEqual([1]); // one in flight, the rest wait
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent).toEqual([1, 50]);
    release();
    await sender.settled();
    expect(sent).toEqual([1, 50]);
  });

  it('spaces sends out: values pushed one by one while the daemon answers at once still wait for the interval', async () => {
    const sent: number[] = [];
    const sender = new LatestSender<number>(async (value) => void sent.push(value), 1000);
    for (let v = 1; v <= 30; v++) {
      sender.push(v);
      await new Promise((resolve) => setImmediate(resolve)); // the answer to the last send is already in
    }
    await sender.settled();
    expect(sent).toEqual([1, 30]);
  });
});

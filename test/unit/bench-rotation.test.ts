// bench's interleaving (src/bench/experiments/common.ts balancedOrder): over a full cycle of
// repetitions, within each one every runtime comes right after every other equally often, and sits
// at each place equally often.
import { describe, expect, it } from 'vitest';
import { balancedOrder } from '../../src/bench/experiments/common';

/** Within-repetition successions and places over one full cycle of `reps` repetitions. */
function tally(n: number, reps: number) {
  const items = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const follows = new Map<string, number>();
  const places = new Map<string, number>();
  for (let rep = 0; rep < reps; rep++) {
    const order = balancedOrder(items, rep);
    expect([...order].sort()).toEqual(items); // a permutation
    order.forEach((x, i) => {
      places.set(`${x}@${i}`, (places.get(`${x}@${i}`) ?? 0) + 1);
      if (i > 0) follows.set(`${order[i - 1]}>${x}`, (follows.get(`${order[i - 1]}>${x}`) ?? 0) + 1);
    });
  }
  return { items, follows, places };
}

describe('balancedOrder', () => {
  it.each([
    [2, 2],
    [3, 6],
    [4, 4],
    [5, 10],
  ])('%i runtimes over %i repetitions: each after each other, each at each place, equally often', (n, reps) => {
    const { items, follows, places } = tally(n, reps);
    const pairs = items.flatMap((a) => items.filter((b) => b !== a).map((b) => follows.get(`${a}>${b}`) ?? 0));
    expect(new Set(pairs).size, JSON.stringify([...follows])).toBe(1);
    expect(pairs[0]).toBeGreaterThan(0);
    expect(new Set(items.flatMap((x) => items.map((_, i) => places.get(`${x}@${i}`) ?? 0))).size).toBe(1);
  });
  it('leaves one runtime, or none, as it is; a warm-up (negative repetition) gets a row too', () => {
    expect(balancedOrder(['A'], 7)).toEqual(['A']);
    expect(balancedOrder([], 1)).toEqual([]);
    expect(balancedOrder(['A', 'B', 'C'], -1)).toHaveLength(3);
  });
});

/**
 * The task order of a finite data set: indices 0..n−1 from position `start` on, in a seeded
 * permutation drawn afresh for every epoch (pass over the set), so a run cycles through every task
 * once per epoch and any position can be reached without replaying the ones before it.
 */
import { keyedRng, permutation } from './random.js';

/** Yields data-set indices forever; `keyOf(epoch)` seeds that epoch's permutation. Throws for n < 1. */
export function* epochOrder(n: number, start: number, keyOf: (epoch: number) => string): Generator<number> {
  if (n < 1) throw new RangeError('epochOrder: empty data set');
  let epoch = -1;
  let order: number[] = [];
  for (let i = start; ; i++) {
    const e = Math.floor(i / n);
    if (e !== epoch) {
      epoch = e;
      order = permutation(n, keyedRng(keyOf(epoch)));
    }
    yield order[i % n]!;
  }
}

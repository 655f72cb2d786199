/**
 * A binary min-heap of timed entries, ordered by time and then by insertion: the ping tracker keeps every
 * session's next send and next probe deadline in one of these, so that thousands of sessions share one
 * timer instead of one timer each. Stale entries are not removed; their owner skips them when they come up.
 */

export interface TimedEntry {
  readonly at: number;
}

interface Slot<T> {
  readonly at: number;
  readonly order: number;
  readonly value: T;
}

export class TimerHeap<T extends TimedEntry> {
  readonly #slots: Slot<T>[] = [];
  #inserted = 0;

  get size(): number {
    return this.#slots.length;
  }

  /** The earliest time in the heap, or `Infinity`. */
  peekAt(): number {
    return this.#slots[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  push(value: T): void {
    const slots = this.#slots;
    slots.push({ at: value.at, order: this.#inserted++, value });
    let i = slots.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(slots[i]!, slots[parent]!)) break;
      [slots[i], slots[parent]] = [slots[parent]!, slots[i]!];
      i = parent;
    }
  }

  /** Removes and returns the earliest entry if it is due at `now`. */
  popDue(now: number): T | undefined {
    const slots = this.#slots;
    const top = slots[0];
    if (top === undefined || top.at > now) return undefined;
    const last = slots.pop()!;
    if (slots.length > 0) {
      slots[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < slots.length && before(slots[left]!, slots[least]!)) least = left;
        if (right < slots.length && before(slots[right]!, slots[least]!)) least = right;
        if (least === i) break;
        [slots[i], slots[least]] = [slots[least]!, slots[i]!];
        i = least;
      }
    }
    return top.value;
  }

  clear(): void {
    this.#slots.length = 0;
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

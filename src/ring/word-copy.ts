/**
 * The ring's copy path for small records. `TypedArray.set` costs about 11 ns whatever the size up to a
 * few hundred bytes (V8 enters its runtime for every call), a loop of Int32 loads and stores about 1 ns
 * per word; copying a record out also needs a `subarray` first, about 35 ns with the `set`. So records up
 * to `WORD_COPY_IN_MAX` bytes go into the ring word by word, and up to `WORD_COPY_OUT_MAX` out of it; the
 * figures are bench/ring.ts's `copy` scenario (CPU time on one thread). The loop needs an Int32 view of the
 * caller's array, and making one (`.buffer`, then a constructor) costs more than the copy saves, so a view
 * is made only for an array passed on two calls in a row (a scratch buffer, the common case) and kept
 * while that array comes back.
 */

/** Largest record `stage()` copies word by word (bench/ring.ts: the loop wins up to 32 bytes, `set` from 48). */
export const WORD_COPY_IN_MAX = 32;
/** Largest record `copy()` copies word by word (the loop wins up to 128 bytes against `subarray` + `set`). */
export const WORD_COPY_OUT_MAX = 128;

/** Copies `count` Int32 words from `from[fromWord..]` to `to[toWord..]`. */
export function copyWords(
  from: Int32Array,
  fromWord: number,
  to: Int32Array,
  toWord: number,
  count: number,
): void {
  for (let i = 0; i < count; i++) to[toWord + i] = from[fromWord + i]!;
}

/** The Int32 view of the array seen on the previous call as well, if it is word-aligned. */
export class WordViewCache {
  #seen: Uint8Array | null = null;
  #array: Uint8Array | null = null;
  #words: Int32Array | null = null;

  /** `array`'s words when it is word-aligned and was passed last time too; null otherwise. */
  of(array: Uint8Array): Int32Array | null {
    if (array === this.#array) {
      // The same view may have grown or shrunk with a resizable buffer: then its words are made again.
      const words = this.#words;
      if (words === null || words.length === array.length >> 2) return words;
    } else if (array !== this.#seen) {
      this.#seen = array;
      return null;
    }
    this.#array = array;
    this.#words =
      (array.byteOffset & 3) === 0 ? new Int32Array(array.buffer, array.byteOffset, array.length >> 2) : null;
    return this.#words;
  }
}

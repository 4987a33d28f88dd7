/**
 * Fixed-layout sliding-window sketches in one `Float64Array`, for summaries
 * whose storage is shared between workers. Each series gets `ageBuckets`
 * sketches of a fixed size, so another worker can read them at a known
 * offset without any message; the scraping worker merges them into a
 * {@linkcode Sketch} (exact: bin counts add) and computes quantiles there.
 *
 * A fixed sketch keeps `positiveBins` bins for values > 0 and `negativeBins`
 * for values < 0, over a window of bin indices that slides to follow the data.
 * When values span more bins than that, the lowest-magnitude bins collapse
 * into the lowest bin kept, as in the growable store: high quantiles keep
 * their accuracy. With α = 1% and 512 bins, collapsing starts when values span
 * a factor of about 26,000 within one window bucket.
 *
 * @module
 */

import { Sketch } from "./sketch.ts";

const EPOCH = 0;
const ZERO = 1;
const POS_INF = 2;
const NEG_INF = 3;
const POS_OFFSET = 4;
const NEG_OFFSET = 5;
const HEADER = 6;

/** Sizes and addressing of a series' window sketches in a flat array. */
export class SketchWindows {
  /** Sketches per series (the window's age buckets). */
  readonly ageBuckets: number;
  /** Bins for values > 0. */
  readonly positiveBins: number;
  /** Bins for values < 0. */
  readonly negativeBins: number;
  /** Slots per sketch. */
  readonly sketchSize: number;
  /** Slots per series. */
  readonly seriesSize: number;
  readonly #mapper: Sketch;

  constructor(ageBuckets: number, alpha: number, positiveBins = 512, negativeBins = 64) {
    this.ageBuckets = ageBuckets;
    this.positiveBins = positiveBins;
    this.negativeBins = negativeBins;
    this.sketchSize = HEADER + positiveBins + negativeBins;
    this.seriesSize = ageBuckets * this.sketchSize;
    this.#mapper = new Sketch(alpha);
  }

  /** Empties series `id`'s sketches. */
  clear(a: Float64Array, id: number): void {
    const base = id * this.seriesSize;
    a.fill(0, base, base + this.seriesSize);
    for (let b = 0; b < this.ageBuckets; b++) {
      const at = base + b * this.sketchSize;
      a[at + EPOCH] = -Infinity;
      a[at + POS_OFFSET] = NaN;
      a[at + NEG_OFFSET] = NaN;
    }
  }

  /** Adds `count` × `v` to series `id`'s sketch for `epoch`, starting it afresh when stale. */
  add(a: Float64Array, id: number, epoch: number, v: number, count = 1): void {
    const at = id * this.seriesSize + (epoch % this.ageBuckets) * this.sketchSize;
    if (a[at + EPOCH] !== epoch) {
      a.fill(0, at + 1, at + this.sketchSize);
      a[at + POS_OFFSET] = NaN;
      a[at + NEG_OFFSET] = NaN;
      a[at + EPOCH] = epoch;
    }
    if (v > 0) {
      if (v === Infinity) a[at + POS_INF] += count;
      else {this.#addBin(
          a,
          at + POS_OFFSET,
          at + HEADER,
          this.positiveBins,
          this.#mapper.index(v),
          count,
        );}
    } else if (v < 0) {
      if (v === -Infinity) a[at + NEG_INF] += count;
      else {
        const bins = at + HEADER + this.positiveBins;
        this.#addBin(a, at + NEG_OFFSET, bins, this.negativeBins, this.#mapper.index(-v), count);
      }
    } else {
      a[at + ZERO] += count;
    }
  }

  /**
   * Adds `count` to bin `index` of the store whose offset is at `a[off]` and
   * bins at `a[bins..bins+size)`, sliding or collapsing the window as needed.
   */
  #addBin(a: Float64Array, off: number, bins: number, size: number, index: number, count: number) {
    let offset = a[off];
    if (offset !== offset) offset = a[off] = index - (size >> 1); // empty: centre on the first value
    let k = index - offset;
    if (k < 0 || k >= size) {
      // Lowest and highest bins in use.
      let lo = -1;
      let hi = -1;
      for (let j = 0; j < size; j++) {
        if (a[bins + j] !== 0) {
          if (lo < 0) lo = j;
          hi = j;
        }
      }
      const usedLo = lo < 0 ? index : offset + lo;
      const usedHi = lo < 0 ? index : offset + hi;
      const newLo = Math.min(usedLo, index);
      const newHi = Math.max(usedHi, index);
      // Slide so the range fits, centred; if it cannot fit, keep the top
      // `size` bins and fold everything below into the lowest one.
      const next = newHi - newLo + 1 <= size
        ? newLo - ((size - (newHi - newLo + 1)) >> 1)
        : newHi - size + 1;
      const moved = new Float64Array(size);
      for (let j = 0; j < size; j++) {
        const c = a[bins + j];
        if (c === 0) continue;
        const target = Math.max(offset + j, next) - next;
        moved[Math.min(target, size - 1)] += c;
      }
      a.set(moved, bins);
      a[off] = offset = next;
      k = Math.max(index, next) - next;
    }
    a[bins + k] += count;
  }

  /** Merges series `id`'s sketches of epochs >= `oldest` into `into`. */
  mergeInto(a: Float64Array, id: number, oldest: number, into: Sketch): void {
    const base = id * this.seriesSize;
    for (let b = 0; b < this.ageBuckets; b++) {
      const at = base + b * this.sketchSize;
      if (!(a[at + EPOCH] >= oldest)) continue;
      into.zero += a[at + ZERO];
      into.positiveInfinity += a[at + POS_INF];
      into.negativeInfinity += a[at + NEG_INF];
      mergeBins(
        a,
        a[at + POS_OFFSET],
        at + HEADER,
        this.positiveBins,
        (i, c) => into.positive.add(i, c),
      );
      mergeBins(
        a,
        a[at + NEG_OFFSET],
        at + HEADER + this.positiveBins,
        this.negativeBins,
        (i, c) => into.negative.add(i, c),
      );
    }
  }

  /** Copies a growable sketch's content into series `id`'s sketch for `epoch`. */
  load(a: Float64Array, id: number, epoch: number, from: Sketch): void {
    const at = id * this.seriesSize + (epoch % this.ageBuckets) * this.sketchSize;
    a.fill(0, at + 1, at + this.sketchSize);
    a[at + EPOCH] = epoch;
    a[at + POS_OFFSET] = NaN;
    a[at + NEG_OFFSET] = NaN;
    a[at + ZERO] = from.zero;
    a[at + POS_INF] = from.positiveInfinity;
    a[at + NEG_INF] = from.negativeInfinity;
    const pos = from.positive;
    for (let i = pos.min; i <= pos.max; i++) {
      const c = pos.counts[i - pos.offset];
      if (c !== 0) this.#addBin(a, at + POS_OFFSET, at + HEADER, this.positiveBins, i, c);
    }
    const neg = from.negative;
    const nb = at + HEADER + this.positiveBins;
    for (let i = neg.min; i <= neg.max; i++) {
      const c = neg.counts[i - neg.offset];
      if (c !== 0) this.#addBin(a, at + NEG_OFFSET, nb, this.negativeBins, i, c);
    }
  }
}

function mergeBins(
  a: Float64Array,
  offset: number,
  bins: number,
  size: number,
  add: (index: number, count: number) => void,
): void {
  if (offset !== offset) return;
  for (let j = 0; j < size; j++) {
    const c = a[bins + j];
    if (c !== 0) add(offset + j, c);
  }
}

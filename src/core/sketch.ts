/**
 * A relative-error quantile sketch in the manner of DDSketch (Masson, Rim and
 * Lee, VLDB 2019), used by {@linkcode Summary}.
 *
 * A positive value `v` goes into bin `ceil(log_γ(v))`, where
 * `γ = (1 + α) / (1 − α)` for relative accuracy `α`; a bin's representative
 * value `2γ^i / (γ + 1)` is then within `α` (relative) of every value in the
 * bin. Negative values go into a mirror store by magnitude, zeros into a
 * counter, and infinities into counters of their own (in a store, one stray
 * `Infinity` would sit ~35,000 bins above everything else and collapse the
 * whole store into its lowest bin). Sketches merge exactly by adding bin counts, which is what makes a
 * sliding window (and, later, merging across workers) correct: quantiles are
 * computed from merged bins, never averaged.
 *
 * Memory is bounded: each store keeps at most `maxBins` contiguous bins. When
 * the values seen span more bins than that, the lowest-magnitude bins are
 * collapsed into the lowest bin kept (the rule DDSketch calls "collapsing
 * lowest"), so high quantiles, the ones alerts are built on, keep their
 * accuracy. With α = 1% and 2,048 bins, collapsing starts only when values
 * span about 18 orders of magnitude.
 *
 * @module
 */

const EMPTY = new Float64Array(0);

/** Contiguous bin counts over a window of bin indices. */
export class DenseStore {
  /** Bin counts; `counts[k]` is bin `offset + k`. */
  counts: Float64Array = EMPTY;
  /** Bin index of `counts[0]`. */
  offset = 0;
  /** Lowest and highest bin index holding data (`min > max` when empty). */
  min = Infinity;
  /** See `min`. */
  max = -Infinity;
  /** Sum of all counts. */
  total = 0;
  /** Most bins kept. */
  readonly maxBins: number;

  constructor(maxBins: number) {
    this.maxBins = maxBins;
  }

  /** Adds `count` to bin `index` (collapsing if the store would exceed `maxBins`). */
  add(index: number, count = 1): void {
    if (index < this.min || index > this.max) index = this.#extend(index);
    this.counts[index - this.offset] += count;
    this.total += count;
  }

  /** Empties the store, keeping its array for reuse. */
  clear(): void {
    if (this.total !== 0) this.counts.fill(0);
    this.min = Infinity;
    this.max = -Infinity;
    this.total = 0;
  }

  /** Adds every bin of `other` into this store. */
  merge(other: DenseStore): void {
    if (other.total === 0) return;
    for (let i = other.min; i <= other.max; i++) {
      const c = other.counts[i - other.offset];
      if (c !== 0) this.add(i, c);
    }
  }

  /** Widens the covered range to include `index`; returns where `index` lands after collapsing. */
  #extend(index: number): number {
    let lo = this.total === 0 ? index : Math.min(index, this.min);
    const hi = this.total === 0 ? index : Math.max(index, this.max);
    if (hi - lo + 1 > this.maxBins) {
      lo = hi - this.maxBins + 1;
      if (index < lo) index = lo;
    }
    const counts = this.counts;
    const coveredLo = this.offset;
    const coveredHi = this.offset + counts.length - 1;
    const needsFold = this.total !== 0 && this.min < lo;
    if (!needsFold && lo >= coveredLo && hi <= coveredHi) {
      this.min = lo;
      this.max = hi;
      return index;
    }
    // Reallocate with room to grow (a power of two, at most maxBins), centred
    // on the range in use, and move the old counts across, folding any bin
    // below `lo` into `lo`.
    const span = hi - lo + 1;
    let len = 32;
    while (len < span * 2 && len < this.maxBins) len *= 2;
    if (len > this.maxBins) len = Math.max(this.maxBins, span);
    const offset = lo - Math.floor((len - span) / 2);
    const next = new Float64Array(len);
    if (this.total !== 0) {
      for (let i = this.min; i <= this.max; i++) {
        const c = counts[i - coveredLo];
        if (c !== 0) next[(i < lo ? lo : i) - offset] += c;
      }
    }
    this.counts = next;
    this.offset = offset;
    this.min = lo;
    this.max = hi;
    return index;
  }
}

/** A mergeable relative-error quantile sketch over any finite or infinite numbers except `NaN`. */
export class Sketch {
  /** Relative accuracy α. */
  readonly alpha: number;
  /** Values > 0, by bin index. */
  readonly positive: DenseStore;
  /** Values < 0, by bin index of their magnitude. */
  readonly negative: DenseStore;
  /** Count of zeros. */
  zero = 0;
  /** Count of `-Infinity` values. */
  negativeInfinity = 0;
  /** Count of `+Infinity` values. */
  positiveInfinity = 0;
  readonly #multiplier: number;
  readonly #gamma: number;
  readonly #lnGamma: number;

  constructor(alpha = 0.01, maxBins = 2048) {
    this.alpha = alpha;
    this.#gamma = (1 + alpha) / (1 - alpha);
    this.#lnGamma = Math.log(this.#gamma);
    this.#multiplier = 1 / this.#lnGamma;
    this.positive = new DenseStore(maxBins);
    this.negative = new DenseStore(maxBins);
  }

  /** Number of values added. */
  get count(): number {
    return this.positive.total + this.negative.total + this.zero + this.negativeInfinity +
      this.positiveInfinity;
  }

  /** Adds one value. */
  add(v: number): void {
    if (v > 0) {
      if (v !== Infinity) this.positive.add(this.index(v));
      else this.positiveInfinity++;
    } else if (v < 0) {
      if (v !== -Infinity) this.negative.add(this.index(-v));
      else this.negativeInfinity++;
    } else {
      this.zero++;
    }
  }

  /** The bin index of a finite value > 0. */
  index(v: number): number {
    return Math.ceil(Math.log(v) * this.#multiplier);
  }

  /** The representative value of bin `i`: within α of every value in the bin. */
  #value(i: number): number {
    const v = 2 * Math.exp(i * this.#lnGamma) / (this.#gamma + 1);
    return v > Number.MAX_VALUE ? Number.MAX_VALUE : v;
  }

  /** Adds every value of `other` (same α) into this sketch. */
  merge(other: Sketch): void {
    this.positive.merge(other.positive);
    this.negative.merge(other.negative);
    this.zero += other.zero;
    this.negativeInfinity += other.negativeInfinity;
    this.positiveInfinity += other.positiveInfinity;
  }

  /** Empties the sketch. */
  clear(): void {
    this.positive.clear();
    this.negative.clear();
    this.zero = 0;
    this.negativeInfinity = 0;
    this.positiveInfinity = 0;
  }

  /**
   * Writes the estimates of the (increasing) quantile ranks `qs` into
   * `out[at..]`: for rank `q`, a value within α of the element at position
   * `floor(q × (count − 1))` of the sorted values. `NaN` when empty.
   */
  quantiles(qs: readonly number[], out: Float64Array | number[], at = 0): void {
    const total = this.count;
    if (total === 0) {
      for (let j = 0; j < qs.length; j++) out[at + j] = NaN;
      return;
    }
    let j = 0;
    let cum = this.negativeInfinity;
    while (j < qs.length && cum > qs[j] * (total - 1)) out[at + j++] = -Infinity;
    const neg = this.negative;
    for (let i = neg.max; i >= neg.min && j < qs.length; i--) {
      cum += neg.counts[i - neg.offset];
      while (j < qs.length && cum > qs[j] * (total - 1)) out[at + j++] = -this.#value(i);
    }
    cum += this.zero;
    while (j < qs.length && cum > qs[j] * (total - 1)) out[at + j++] = 0;
    const pos = this.positive;
    for (let i = pos.min; i <= pos.max && j < qs.length; i++) {
      cum += pos.counts[i - pos.offset];
      while (j < qs.length && cum > qs[j] * (total - 1)) out[at + j++] = this.#value(i);
    }
    // The ranks left fall among the +Infinity values, or (through rounding at
    // q = 1 only) on the highest value.
    const highest = this.positiveInfinity > 0
      ? Infinity
      : pos.total > 0
      ? this.#value(pos.max)
      : this.zero > 0
      ? 0
      : neg.total > 0
      ? -this.#value(neg.min)
      : -Infinity;
    while (j < qs.length) out[at + j++] = highest;
  }
}

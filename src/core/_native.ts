/**
 * Native (sparse, exponential) histogram buckets, as client_golang keeps
 * them: bucket keys from `frexp` and the boundary table (never from a
 * logarithm, which misplaces values that sit on a boundary), a zero bucket,
 * and client_golang's rules when a series holds more buckets than allowed:
 * reset (if the minimum reset duration has passed), else widen the zero
 * bucket (if the maximum zero threshold allows), else halve the resolution.
 *
 * Storage is a fixed layout per series in one `Float64Array`, so that other
 * workers read it from shared memory at a known offset, as they read the
 * classic buckets: a header, then a window of `width` consecutive positive
 * buckets and one of negative buckets. An observation whose bucket is in the
 * window is one array add; one outside moves the window (or, when the keys in
 * use span more than the window, halves the resolution: memory stays bounded
 * whatever is observed). `width` is at least 136, which holds every key of
 * schema -4, so halving always ends.
 *
 * Moving buckets (window moves, resolution and zero-bucket changes, resets)
 * happens inside a sequence lock: the writer bumps the series' version to odd
 * before and to even after, with `Atomics` (which order the plain stores in
 * between), and a reader in another worker copies the series and retries if
 * the version was odd or changed. Plain increments need no lock: a reader
 * sees a bucket count a moment old, as with classic buckets.
 *
 * @module
 */

import type { NativeBuckets } from "../model/family.ts";
import { NATIVE_BOUNDS } from "./_native_bounds.ts";

/** client_golang's `DefNativeHistogramZeroThreshold`: 2^-128. */
export const DEFAULT_ZERO_THRESHOLD = 2 ** -128;

// Header slots of a series.
const SCHEMA = 0;
const ZT = 1;
const ZERO = 2;
const POS_OFF = 3;
const NEG_OFF = 4;
const POPULATED = 5;
const LAST_RESET = 6;
const RESET_AT = 7;
/** An Int32 in the low half of this slot: the sequence lock. */
const VERSION = 8;
/** ±Infinity: the overflow buckets, kept out of the windows (they would stretch them to key 2^(n+10)). */
const POS_INF = 9;
const NEG_INF = 10;
/**
 * Written and read by the series' writer only: the zero threshold when
 * `observe`'s common case applies (schema > 0, no reset scheduled), else
 * Infinity, so that one compare stands for the three.
 */
const FAST_ABOVE = 11;
const HEADER = 12;
/** Offset of an empty window: every key is outside it (keys stay within ±70,000). */
const EMPTY = -(2 ** 30);

/**
 * Schema for a bucket factor, as client_golang's `pickSchema`: the largest n
 * in [-4, 8] with 2^(2^-n) <= factor (1.1 gives 3, 2 gives 0).
 */
export function pickSchema(factor: number): number {
  const f = Math.floor(Math.log2(Math.log2(factor)));
  if (f <= -8) return 8;
  if (f >= 4) return -4;
  return f === 0 ? 0 : -f;
}

const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
/** Index of the high word (sign, exponent, top of the mantissa) of a float64. */
const HI = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/**
 * Per schema n > 0, the boundary search as one table read and an integer
 * compare: the top n + 2 bits of the mantissa pick a slice of [0.5, 1)
 * narrow enough to hold at most one boundary (boundaries are at least
 * 0.5 × (2^(2^-n) - 1) apart, more than a slice's 0.5 / 2^(n+2)).
 * Per slice j of schema n, at index 2^(n+2) + j (the mantissa's top n + 2
 * bits with its implicit leading 1: one shift), `COUNTS` holds the
 * boundaries below the slice's start, `NEXT` the first boundary at or above
 * it as its high 20 mantissa bits with that leading 1 (2^21 when none), and
 * `LOWS` its low 32 bits: a value whose mantissa is greater lies above it.
 * The result equals Go's `sort.SearchFloat64s` (checked against it at every
 * boundary and its neighbours in the tests). A binary search made a native
 * observe 2.5x slower than this (bench/native.bench.ts): its branches follow
 * the data; reading the fraction back as a float cost 30% more. Three flat
 * arrays at fixed addresses (one table per schema, or one array of triples,
 * cost 9 more instructions per observe), and no branch that follows the
 * data (only an equal high word, rare, looks at the low one).
 */
const COUNTS = new Uint16Array(1 << 11);
const NEXT = new Int32Array(1 << 11);
const LOWS = new Uint32Array(1 << 11);
for (let n = 1; n <= 8; n++) {
  const bounds = NATIVE_BOUNDS[n];
  const slices = 4 << n;
  for (let j = 0; j < slices; j++) {
    const start = 0.5 + j * (0.5 / slices);
    let c = 0;
    while (c < bounds.length && bounds[c] < start) c++;
    COUNTS[slices + j] = c;
    if (c < bounds.length) {
      scratch[0] = bounds[c];
      NEXT[slices + j] = (words[HI] & 0x000fffff) | 0x100000;
      LOWS[slices + j] = words[LO];
    } else {
      NEXT[slices + j] = 0x200000;
    }
  }
}

/**
 * The key of the bucket of `a` (> 0; Infinity: the overflow bucket) at `schema`, as client_golang's
 * `observe` computes it from `math.Frexp` (a = frac × 2^exp, frac in
 * [0.5, 1)): at schema n > 0, the first boundary >= frac in the table plus
 * (exp - 1) × 2^n; at n <= 0, exp (less one for an exact power of two)
 * shifted right by -n, rounding up.
 */
export function bucketKey(a: number, schema: number): number {
  scratch[0] = a;
  const hi = words[HI];
  const biased = hi >>> 20; // a > 0: no sign bit
  // Subnormal (biased exponent 0) and Infinity (2047) in one compare.
  if (biased - 1 >>> 0 >= 2046) return edgeKey(a, schema);
  if (schema > 0) return keyInOctave(hi, biased, schema);
  return lowKey(hi, biased, schema);
}

/**
 * {@linkcode bucketKey} of Infinity (the overflow bucket, one past that of
 * `Number.MAX_VALUE`) or of a subnormal number (scaled into the normal range
 * first).
 */
function edgeKey(a: number, schema: number): number {
  if (a === Infinity) return bucketKey(Number.MAX_VALUE, schema) + 1;
  a *= 2 ** 64;
  scratch[0] = a;
  const hi = words[HI];
  const biased = hi >>> 20;
  if (schema > 0) return keyInOctave(hi, biased, schema) - 64 * (1 << schema);
  return lowKey(hi, biased - 64, schema);
}

/** Schema > 0: the boundary search within the octave (see `COUNTS`) plus (exp - 1) × 2^n. */
function keyInOctave(hi: number, biased: number, schema: number): number {
  const x = (hi & 0x000fffff) | 0x100000;
  const j = x >>> (18 - schema);
  const next = NEXT[j];
  // 1 when x > next (both < 2^22: the difference's sign bit), without a branch.
  let above = (next - x) >>> 31;
  if (x === next) above = words[LO] > LOWS[j] ? 1 : 0;
  // exp - 1 = biased - 1023.
  return COUNTS[j] + above + ((biased - 1023) << schema);
}

/** Schema <= 0: exp (less one for an exact power of two, frac 0.5) shifted right by -n, rounding up. */
function lowKey(hi: number, biased: number, schema: number): number {
  const key = (hi & 0x000fffff) === 0 && words[LO] === 0 ? biased - 1023 : biased - 1022;
  return (key + (1 << -schema) - 1) >> -schema;
}

/** Go's `sort.SearchFloat64s` over the boundaries of `schema` (for the tests). */
export function searchBounds(frac: number, schema: number): number {
  const bounds = NATIVE_BOUNDS[schema];
  let i = 0;
  while (i < bounds.length && bounds[i] < frac) i++;
  return i;
}

/** `f × 2^e` without overflowing on the way (`2^1024` alone is `Infinity`). */
function ldexp(f: number, e: number): number {
  if (e > 1023) return f * 2 ** 1023 * 2 ** (e - 1023);
  if (e < -1022) return f * 2 ** (e + 1022) * 2 ** -1022;
  return f * 2 ** e;
}

/**
 * The upper bound of bucket `key` at `schema`, as client_golang's `getLe`
 * (Prometheus' `getBound`): the bucket that would end at 2^1024 ends at
 * `Number.MAX_VALUE`.
 */
export function upperBound(key: number, schema: number): number {
  if (schema < 0) {
    const exp = key * 2 ** -schema;
    return exp === 1024 ? Number.MAX_VALUE : ldexp(1, exp);
  }
  const bounds = NATIVE_BOUNDS[schema];
  const n = bounds.length;
  const fracIdx = ((key % n) + n) % n;
  const exp = Math.floor(key / n) + 1;
  if (fracIdx === 0 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(bounds[fracIdx], exp);
}

/** The configuration of a histogram's native buckets, validated. */
export interface NativeConfig {
  /** Starting schema, from the bucket factor. */
  schema: number;
  /** Starting zero threshold. */
  zeroThreshold: number;
  /** Most populated buckets (both signs) before the resolution is reduced. */
  maxBuckets: number;
  /** Widest the zero bucket may grow to hold buckets; 0: never widened. */
  maxZeroThreshold: number;
  /** Shortest time between resets, in milliseconds; 0: never reset. */
  minResetMs: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/**
 * Addressing and rules of the native buckets of every series of one
 * histogram, in a flat `Float64Array` (`stride` slots per series).
 */
export class NativeLayout {
  // Initialised as small integers, so that V8 keeps them untagged (a field
  // declared without a value starts as undefined, and is then loaded with checks).
  /** Buckets per sign kept per series. */
  readonly width: number = 0;
  /** Slots per series. */
  readonly stride: number = 0;
  readonly config: NativeConfig;

  constructor(config: NativeConfig) {
    this.config = config;
    this.width = Math.max(2 * config.maxBuckets, 136) | 0;
    this.stride = HEADER + 2 * this.width;
  }

  /**
   * Starts series `id` empty, at the configured schema and zero threshold
   * (all but the lock's version, which only ever counts up).
   */
  init(a: Float64Array, id: number): void {
    const base = id * this.stride;
    a.fill(0, base, base + VERSION);
    a.fill(0, base + VERSION + 1, base + this.stride);
    a[base + SCHEMA] = this.config.schema;
    a[base + ZT] = this.config.zeroThreshold;
    a[base + POS_OFF] = EMPTY;
    a[base + NEG_OFF] = EMPTY;
    a[base + LAST_RESET] = this.config.now();
    this.#fast(a, base);
  }

  /** Sets `FAST_ABOVE` of the series at `base` after its schema, zero threshold or reset time changed. */
  #fast(a: Float64Array, base: number): void {
    a[base + FAST_ABOVE] = a[base + RESET_AT] === 0 && a[base + SCHEMA] > 0
      ? a[base + ZT]
      : Infinity;
  }

  /** Empties series `id` (a reset): the same as a new series, inside the lock. */
  reset(a: Float64Array, id: number): void {
    const lock = this.#lock(a);
    const vi = (id * this.stride + VERSION) * 2;
    Atomics.add(lock, vi, 1);
    this.init(a, id);
    Atomics.add(lock, vi, 1);
  }

  /**
   * Counts `v` (not NaN) in series `id`. Returns true when the series must be
   * reset first (client_golang's rules: it holds too many buckets and the
   * minimum reset duration has passed, or a reset scheduled earlier is due):
   * the caller then resets every part of the series and observes `v` again.
   */
  observe(a: Float64Array, id: number, v: number): boolean {
    const base = id * this.stride;
    // The common case, kept small enough to be inlined: no reset scheduled,
    // schema > 0, v above the zero threshold (all three: v > FAST_ABOVE), a
    // normal number, its bucket in the window. Anything else takes the
    // general path.
    if (v > a[base + FAST_ABOVE]) {
      scratch[0] = v;
      const hi = words[HI];
      const biased = hi >>> 20; // v > 0: no sign bit
      if (biased - 1 >>> 0 < 2046) {
        const k = keyInOctave(hi, biased, a[base + SCHEMA] | 0) - a[base + POS_OFF];
        if (k >= 0 && k < this.width) {
          if (a[base + HEADER + k]++ === 0) return this.#created(a, base);
          return false;
        }
      }
    }
    return this.#observe(a, base, id, v);
  }

  /** {@linkcode observe}, every case. */
  #observe(a: Float64Array, base: number, id: number, v: number): boolean {
    if (a[base + RESET_AT] !== 0 && this.#due(a, base)) return true;
    const zt = a[base + ZT];
    let slot = POS_OFF;
    let magnitude = v;
    if (v <= zt) {
      if (v >= -zt) {
        a[base + ZERO]++;
        return false;
      }
      slot = NEG_OFF;
      magnitude = -v;
    }
    const key = bucketKey(magnitude, a[base + SCHEMA]);
    const w = this.width;
    const k = key - a[base + slot];
    if (k >= 0 && k < w) {
      if (a[base + HEADER + (slot - POS_OFF) * w + k]++ === 0) return this.#created(a, base);
      return false;
    }
    return this.#outside(a, base, id, slot, key, v);
  }

  /** Whether the reset scheduled for the series at `base` is due. */
  #due(a: Float64Array, base: number): boolean {
    return this.config.now() >= a[base + RESET_AT];
  }

  /** A bucket went from 0 to 1: count it, and apply the limit (kept small: it is inlined). */
  #created(a: Float64Array, base: number): boolean {
    if (++a[base + POPULATED] <= this.config.maxBuckets) return false;
    return this.#limit(a, base);
  }

  /** client_golang's `limitBuckets`: reset, else widen the zero bucket, else halve. */
  #limit(a: Float64Array, base: number): boolean {
    const { minResetMs } = this.config;
    if (minResetMs > 0 && a[base + RESET_AT] === 0) {
      if (this.config.now() - a[base + LAST_RESET] >= minResetMs) return true;
      // Undo the reduction below once the minimum reset duration has passed.
      a[base + RESET_AT] = a[base + LAST_RESET] + minResetMs;
      this.#fast(a, base);
    }
    if (!this.#widenZeroBucket(a, base)) this.#halve(a, base);
    return false;
  }

  /** `key` of side `slot` is outside the window: move it, or halve the resolution, then count `v`. */
  #outside(
    a: Float64Array,
    base: number,
    id: number,
    slot: number,
    key: number,
    v: number,
  ): boolean {
    if (v === Infinity || v === -Infinity) {
      return a[base + (v > 0 ? POS_INF : NEG_INF)]++ === 0 && this.#created(a, base);
    }
    const w = this.width;
    const bins = base + HEADER + (slot === POS_OFF ? 0 : w);
    const [lo, hi] = used(a, bins, w, a[base + slot]);
    const from = lo === undefined ? key : Math.min(lo, key);
    const to = hi === undefined ? key : Math.max(hi, key);
    if (to - from + 1 > w) {
      if (this.#halve(a, base)) return this.observe(a, id, v);
      // Unreachable with width >= 136 (schema -4 has 133 keys), but never
      // write outside the window: count the key at the window's edge.
      key = key > hi! ? lo! + w - 1 : hi! - w + 1;
    }
    const lock = this.#lock(a);
    const vi = (base + VERSION) * 2;
    Atomics.add(lock, vi, 1);
    const entries = take(a, bins, w, a[base + slot]);
    entries.push(key, 1);
    a[base + slot] = place(a, bins, w, entries);
    Atomics.add(lock, vi, 1);
    return this.#created(a, base);
  }

  /**
   * client_golang's `maybeWidenZeroBucket`: the zero bucket grows to the upper
   * bound of the bucket closest to zero (on either side) and takes it in, if
   * that stays within the maximum zero threshold.
   */
  #widenZeroBucket(a: Float64Array, base: number): boolean {
    const max = this.config.maxZeroThreshold;
    if (a[base + ZT] >= max) return false;
    const w = this.width;
    const pos = used(a, base + HEADER, w, a[base + POS_OFF])[0];
    const neg = used(a, base + HEADER + w, w, a[base + NEG_OFF])[0];
    if (pos === undefined && neg === undefined) return false;
    const smallest = Math.min(pos ?? Infinity, neg ?? Infinity);
    const zt = upperBound(smallest, a[base + SCHEMA]);
    if (zt > max) return false;
    const vi = (base + VERSION) * 2;
    const lock = this.#lock(a);
    Atomics.add(lock, vi, 1);
    a[base + ZT] = zt;
    this.#fast(a, base);
    for (const [slot, bins] of [[POS_OFF, base + HEADER], [NEG_OFF, base + HEADER + w]]) {
      const k = smallest - a[base + slot];
      if (k >= 0 && k < w && a[bins + k] !== 0) {
        a[base + ZERO] += a[bins + k];
        a[bins + k] = 0;
        a[base + POPULATED]--;
      }
    }
    Atomics.add(lock, vi, 1);
    return true;
  }

  /**
   * client_golang's `doubleBucketWidth`: schema minus one, each bucket k
   * merged into ceil(k / 2). Returns false at schema -4 (nothing to do).
   */
  #halve(a: Float64Array, base: number): boolean {
    const schema = a[base + SCHEMA];
    if (schema <= -4) return false;
    const w = this.width;
    const vi = (base + VERSION) * 2;
    const lock = this.#lock(a);
    Atomics.add(lock, vi, 1);
    let populated = 0;
    for (const [slot, bins] of [[POS_OFF, base + HEADER], [NEG_OFF, base + HEADER + w]]) {
      const entries = take(a, bins, w, a[base + slot]);
      const merged: number[] = [];
      for (let i = 0; i < entries.length; i += 2) {
        const k = (entries[i] + 1) >> 1; // ceil(k / 2)
        if (merged.length > 0 && merged[merged.length - 2] === k) {
          merged[merged.length - 1] += entries[i + 1];
        } else merged.push(k, entries[i + 1]);
      }
      a[base + slot] = merged.length === 0 ? EMPTY : place(a, bins, w, merged);
      populated += merged.length / 2;
    }
    a[base + SCHEMA] = schema - 1;
    this.#fast(a, base);
    a[base + POPULATED] = populated + (a[base + POS_INF] !== 0 ? 1 : 0) +
      (a[base + NEG_INF] !== 0 ? 1 : 0);
    Atomics.add(lock, vi, 1);
    return true;
  }

  #lockArray: Float64Array | undefined;
  #lockView: Int32Array | undefined;

  /** An Int32 view of `a`'s memory for the sequence lock (cached per array). */
  #lock(a: Float64Array): Int32Array {
    if (this.#lockArray !== a) {
      this.#lockArray = a;
      this.#lockView = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
    }
    return this.#lockView!;
  }

  /**
   * A consistent copy of series `id`'s buckets (retrying while a writer in
   * another worker moves them), or `undefined` when `a` does not hold it.
   */
  read(a: Float64Array, id: number): NativeBuckets | undefined {
    const s = this.stride;
    const base = id * s;
    if (a.length < base + s) return undefined;
    const lock = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
    const vi = (base + VERSION) * 2;
    let copy = a.subarray(base, base + s);
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const before = Atomics.load(lock, vi);
      if ((before & 1) !== 0) continue;
      copy = a.slice(base, base + s);
      if (Atomics.load(lock, vi) === before) break;
    }
    const w = this.width;
    const schema = copy[SCHEMA];
    const [positiveOffset, positive] = side(copy, HEADER, w, copy[POS_OFF], copy[POS_INF], schema);
    const [negativeOffset, negative] = side(
      copy,
      HEADER + w,
      w,
      copy[NEG_OFF],
      copy[NEG_INF],
      schema,
    );
    return {
      schema,
      zeroThreshold: copy[ZT],
      zeroCount: copy[ZERO],
      positiveOffset,
      positive,
      negativeOffset,
      negative,
    };
  }
}

/**
 * One side of a copied series as an offset and dense counts: the window's
 * used range, and the overflow bucket (±Infinity) at its key when counted.
 */
function side(
  copy: Float64Array,
  bins: number,
  w: number,
  off: number,
  infinite: number,
  schema: number,
): [number, Float64Array] {
  const [lo, hi] = used(copy, bins, w, off);
  if (infinite === 0) {
    if (lo === undefined) return [0, new Float64Array(0)];
    return [lo, copy.slice(bins + lo - off, bins + hi! - off + 1)];
  }
  const inf = bucketKey(Infinity, schema);
  const from = lo ?? inf;
  const out = new Float64Array(inf - from + 1);
  if (lo !== undefined) out.set(copy.subarray(bins + lo - off, bins + hi! - off + 1));
  out[inf - from] = infinite;
  return [from, out];
}

/** The lowest and highest keys with a count in the window at `bins` (offset `off`). */
function used(
  a: Float64Array,
  bins: number,
  w: number,
  off: number,
): [number | undefined, number | undefined] {
  if (off === EMPTY) return [undefined, undefined];
  let lo = 0;
  while (lo < w && a[bins + lo] === 0) lo++;
  if (lo === w) return [undefined, undefined];
  let hi = w - 1;
  while (a[bins + hi] === 0) hi--;
  return [off + lo, off + hi];
}

/** The window's buckets as `[key, count, ...]` in key order, leaving it empty. */
function take(a: Float64Array, bins: number, w: number, off: number): number[] {
  const out: number[] = [];
  if (off === EMPTY) return out;
  for (let k = 0; k < w; k++) {
    const c = a[bins + k];
    if (c !== 0) {
      out.push(off + k, c);
      a[bins + k] = 0;
    }
  }
  return out;
}

/**
 * Writes `[key, count, ...]` (keys spanning at most `w`) into an emptied
 * window, centred on the keys so it can grow either way; returns its offset.
 */
function place(a: Float64Array, bins: number, w: number, entries: number[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < entries.length; i += 2) {
    lo = Math.min(lo, entries[i]);
    hi = Math.max(hi, entries[i]);
  }
  const off = lo - ((w - (hi - lo + 1)) >> 1);
  for (let i = 0; i < entries.length; i += 2) a[bins + entries[i] - off] += entries[i + 1];
  return off;
}

/** Native buckets of one output series while series of several workers are added up. */
export class NativeSum {
  schema = 8;
  zeroThreshold = 0;
  zeroCount = 0;
  readonly positive: Map<number, number> = new Map();
  readonly negative: Map<number, number> = new Map();
  #empty = true;

  /**
   * Adds `b`, exactly as Prometheus adds native histograms: both at the lower
   * of the two schemas (bucket k of schema s is bucket ceil(k / 2^d) of
   * schema s - d) and the wider zero bucket (which takes in every bucket that
   * reaches into it, growing to a bucket's bound if it ends inside one).
   */
  add(b: NativeBuckets): void {
    if (this.#empty) {
      this.#empty = false;
      this.schema = b.schema;
      this.zeroThreshold = b.zeroThreshold;
    }
    const schema = Math.min(this.schema, b.schema);
    if (schema < this.schema) {
      reduce(this.positive, this.schema - schema);
      reduce(this.negative, this.schema - schema);
      this.schema = schema;
    }
    const shift = b.schema - schema;
    const addSide = (into: Map<number, number>, offset: number, counts: ArrayLike<number>) => {
      for (let k = 0; k < counts.length; k++) {
        if (counts[k] === 0) continue;
        const key = shift === 0 ? offset + k : Math.ceil((offset + k) / 2 ** shift);
        into.set(key, (into.get(key) ?? 0) + counts[k]);
      }
    };
    addSide(this.positive, b.positiveOffset, b.positive);
    addSide(this.negative, b.negativeOffset, b.negative);
    this.zeroCount += b.zeroCount;
    this.#widenTo(Math.max(this.zeroThreshold, b.zeroThreshold));
  }

  /** Moves into the zero bucket every bucket that reaches below `zt`, growing `zt` as needed. */
  #widenTo(zt: number): void {
    for (let changed = true; changed;) {
      changed = false;
      for (const side of [this.positive, this.negative]) {
        for (const key of side.keys()) {
          const lower = upperBound(key - 1, this.schema);
          const upper = upperBound(key, this.schema);
          if (lower < zt && upper > zt) {
            zt = upper;
            changed = true;
          }
        }
      }
    }
    for (const side of [this.positive, this.negative]) {
      for (const [key, count] of side) {
        if (upperBound(key, this.schema) <= zt) {
          this.zeroCount += count;
          side.delete(key);
        }
      }
    }
    this.zeroThreshold = zt;
  }

  /** The sum as dense {@linkcode NativeBuckets}. */
  finish(): NativeBuckets {
    const dense = (side: Map<number, number>): [number, Float64Array] => {
      if (side.size === 0) return [0, new Float64Array(0)];
      const keys = [...side.keys()];
      const lo = Math.min(...keys);
      const out = new Float64Array(Math.max(...keys) - lo + 1);
      for (const [k, c] of side) out[k - lo] = c;
      return [lo, out];
    };
    const [positiveOffset, positive] = dense(this.positive);
    const [negativeOffset, negative] = dense(this.negative);
    return {
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      positiveOffset,
      positive,
      negativeOffset,
      negative,
    };
  }
}

/** Re-keys `side` `d` schemas lower. */
function reduce(side: Map<number, number>, d: number): void {
  const entries = [...side];
  side.clear();
  for (const [k, c] of entries) {
    const key = Math.ceil(k / 2 ** d);
    side.set(key, (side.get(key) ?? 0) + c);
  }
}

/**
 * The `Idempotency-Key` store of the event ingestion API: the keys of recent
 * batches with their outcome, bounded in size and age, in one
 * `SharedArrayBuffer` so that every server thread of a process sees every
 * key (the main thread creates it and hands the buffer to each thread).
 *
 * Layout: `buckets` buckets of {@linkcode WAYS} entries, a key's bucket
 * chosen by its fingerprint. Each bucket has a spin lock (an `Int32` taken
 * with `Atomics.compareExchange`); a lookup or a write holds it for a scan
 * of 8 entries and never across an `await`, so contention costs nanoseconds.
 * An entry is empty, pending (a thread is recording its batch) or done (its
 * outcome kept until `ttlMs` passes). A new key takes an empty or expired
 * entry of its bucket, else the done entry that expires first: under more
 * distinct keys than `capacity` within `ttlMs`, the oldest are forgotten
 * early (counted in {@linkcode IdempotencyStore.evictions}). Pending entries
 * are never taken, and a pending entry whose thread vanished frees itself
 * after a minute.
 *
 * Keys and bodies are kept as 128-bit fingerprints (the first half of their
 * SHA-256), never as text.
 *
 * @module
 */

/** Entries per bucket. */
export const WAYS = 8;

/** How long a pending entry holds its key before it counts as abandoned. */
const PENDING_MS = 60_000;

const EMPTY = 0;
const PENDING = 1;
const DONE = 2;

// Header (Int32): magic, buckets, values per entry, evictions, claim counter.
const MAGIC = 0x1d3e_0001;
const H_MAGIC = 0;
const H_BUCKETS = 1;
const H_VALUES = 2;
const H_EVICTIONS = 3;
const H_CLAIMS = 4;
const HEADER_INTS = 8;

// Entry (Int32): state, claim id, key fingerprint (4), body fingerprint (4), values.
const E_STATE = 0;
const E_CLAIM = 1;
const E_KEY = 2;
const E_BODY = 6;
const E_VALUES = 10;

/** Int32s before the expiry times: header, locks, entries, and one of padding if odd. */
function intsOf(buckets: number, values: number): number {
  const ints = HEADER_INTS + buckets + buckets * WAYS * (E_VALUES + values);
  return ints + (ints & 1);
}

/** What {@linkcode IdempotencyStore.begin} found for a key. */
export type Claim =
  /** A new key: record the batch, then `complete` (or `abandon`) this claim. */
  | { readonly state: "new"; readonly claim: number }
  /** Done before with the same body: answer with its `values` again. */
  | { readonly state: "replay"; readonly values: Int32Array }
  /** Done before with another body: the key was reused. */
  | { readonly state: "mismatch" }
  /** Another request with this key is being recorded right now. */
  | { readonly state: "pending" }
  /** Every entry of the key's bucket is pending: no room to remember it. */
  | { readonly state: "busy" };

/** Options of {@linkcode IdempotencyStore.create}. */
export interface IdempotencyStoreOptions {
  /** Keys kept (rounded up to a multiple of {@linkcode WAYS}); default 16,384. */
  capacity?: number;
  /** Numbers kept with each outcome (an `Int32` each); default 1. */
  values?: number;
}

/** A 128-bit fingerprint: the first 16 bytes of a SHA-256 digest. */
export async function fingerprint(data: Uint8Array | string): Promise<Int32Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return new Int32Array(digest, 0, 4);
}

/**
 * A bounded store of recent idempotency keys and their outcomes, shareable
 * across threads through its {@linkcode IdempotencyStore.buffer}.
 *
 * @example
 * ```ts
 * import { fingerprint, IdempotencyStore } from "./ingest_store.ts";
 * const store = IdempotencyStore.create({ capacity: 1024, values: 1 });
 * const key = await fingerprint("client\0batch-1");
 * const body = await fingerprint("[]");
 * const claim = store.begin(key, body, Date.now());
 * if (claim.state === "new") store.complete(claim.claim, key, Int32Array.of(0), Date.now(), 3_600_000);
 * store.begin(key, body, Date.now()).state; // "replay"
 * ```
 */
export class IdempotencyStore {
  /** The memory of the store: post it to another thread and `attach` it there. */
  readonly buffer: SharedArrayBuffer;
  /** Keys it can hold. */
  readonly capacity: number;
  readonly #ints: Int32Array;
  readonly #expires: Float64Array;
  readonly #buckets: number;
  readonly #values: number;
  readonly #entryInts: number;
  readonly #entries: number; // Int32 offset of the first entry

  private constructor(buffer: SharedArrayBuffer) {
    const header = new Int32Array(buffer, 0, HEADER_INTS);
    if (header[H_MAGIC] !== MAGIC) throw new TypeError("IdempotencyStore: not a store's buffer");
    this.buffer = buffer;
    this.#buckets = header[H_BUCKETS];
    this.#values = header[H_VALUES];
    this.#entryInts = E_VALUES + this.#values;
    this.capacity = this.#buckets * WAYS;
    this.#entries = HEADER_INTS + this.#buckets;
    // The Int32 part (header, locks, entries), then the expiry times, 8-byte aligned.
    const ints = intsOf(this.#buckets, this.#values);
    this.#ints = new Int32Array(buffer, 0, ints);
    this.#expires = new Float64Array(buffer, ints * 4, this.capacity);
  }

  /** A new, empty store. Throws a `RangeError` for a capacity or value count out of range. */
  static create(options: IdempotencyStoreOptions = {}): IdempotencyStore {
    const capacity = options.capacity ?? 16_384;
    const values = options.values ?? 1;
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new RangeError(`IdempotencyStore: capacity must be 1 to 16777216, got ${capacity}`);
    }
    if (!Number.isSafeInteger(values) || values < 0 || values > 64) {
      throw new RangeError(`IdempotencyStore: values must be 0 to 64, got ${values}`);
    }
    const buckets = Math.ceil(capacity / WAYS);
    const buffer = new SharedArrayBuffer(intsOf(buckets, values) * 4 + buckets * WAYS * 8);
    new Int32Array(buffer, 0, HEADER_INTS).set([MAGIC, buckets, values]);
    return new IdempotencyStore(buffer);
  }

  /**
   * The store whose `buffer` this is (made by `create`, possibly in another
   * thread). Throws a `TypeError` for any other buffer.
   */
  static attach(buffer: SharedArrayBuffer): IdempotencyStore {
    return new IdempotencyStore(buffer);
  }

  /** Outcomes forgotten before their time to make room for newer keys. */
  get evictions(): number {
    return Atomics.load(this.#ints, H_EVICTIONS);
  }

  #lock(bucket: number): void {
    const lock = HEADER_INTS + bucket;
    while (Atomics.compareExchange(this.#ints, lock, 0, 1) !== 0) {
      // Held by another thread for a scan of 8 entries: spin.
    }
  }

  #unlock(bucket: number): void {
    Atomics.store(this.#ints, HEADER_INTS + bucket, 0);
  }

  #bucketOf(key: Int32Array): number {
    return (key[0] >>> 0) % this.#buckets;
  }

  #at(slot: number): number {
    return this.#entries + slot * this.#entryInts;
  }

  #same(at: number, fp: Int32Array): boolean {
    const ints = this.#ints;
    return ints[at] === fp[0] && ints[at + 1] === fp[1] && ints[at + 2] === fp[2] &&
      ints[at + 3] === fp[3];
  }

  /**
   * Looks `key` up and, when it is new, claims it (pending) for the caller,
   * who then calls {@linkcode IdempotencyStore.complete} or
   * {@linkcode IdempotencyStore.abandon} with the claim. `now` is
   * `Date.now()` (the same clock in every thread).
   */
  begin(key: Int32Array, body: Int32Array, now: number): Claim {
    const ints = this.#ints;
    const bucket = this.#bucketOf(key);
    const first = bucket * WAYS;
    this.#lock(bucket);
    try {
      let free = -1;
      let oldest = -1;
      for (let slot = first; slot < first + WAYS; slot++) {
        const at = this.#at(slot);
        const state = ints[at + E_STATE];
        const live = state !== EMPTY && this.#expires[slot] > now;
        if (!live) {
          if (free < 0) free = slot;
          continue;
        }
        if (this.#same(at + E_KEY, key)) {
          if (state === PENDING) return { state: "pending" };
          if (!this.#same(at + E_BODY, body)) return { state: "mismatch" };
          return {
            state: "replay",
            values: ints.slice(at + E_VALUES, at + E_VALUES + this.#values),
          };
        }
        if (state === DONE && (oldest < 0 || this.#expires[slot] < this.#expires[oldest])) {
          oldest = slot;
        }
      }
      let slot = free;
      if (slot < 0) {
        if (oldest < 0) return { state: "busy" };
        slot = oldest;
        Atomics.add(ints, H_EVICTIONS, 1);
      }
      const claim = Atomics.add(ints, H_CLAIMS, 1) + 1;
      const at = this.#at(slot);
      ints[at + E_STATE] = PENDING;
      ints[at + E_CLAIM] = claim;
      ints.set(key, at + E_KEY);
      ints.set(body, at + E_BODY);
      this.#expires[slot] = now + PENDING_MS;
      return { state: "new", claim };
    } finally {
      this.#unlock(bucket);
    }
  }

  /** The slot `claim` holds for `key`, or -1 (the lock of its bucket held). */
  #claimed(key: Int32Array, claim: number): number {
    const first = this.#bucketOf(key) * WAYS;
    for (let slot = first; slot < first + WAYS; slot++) {
      const at = this.#at(slot);
      if (this.#ints[at + E_STATE] === PENDING && this.#ints[at + E_CLAIM] === claim) return slot;
    }
    return -1;
  }

  /**
   * Records the outcome of a claimed key: `values` are kept for `ttlMs` and
   * answered to every `begin` of the same key and body until then.
   */
  complete(claim: number, key: Int32Array, values: Int32Array, now: number, ttlMs: number): void {
    const bucket = this.#bucketOf(key);
    this.#lock(bucket);
    try {
      const slot = this.#claimed(key, claim);
      if (slot < 0) return;
      const at = this.#at(slot);
      this.#ints.set(values.subarray(0, this.#values), at + E_VALUES);
      this.#expires[slot] = now + ttlMs;
      this.#ints[at + E_STATE] = DONE;
    } finally {
      this.#unlock(bucket);
    }
  }

  /** Frees a claimed key without an outcome (nothing was recorded): a retry is new again. */
  abandon(claim: number, key: Int32Array): void {
    const bucket = this.#bucketOf(key);
    this.#lock(bucket);
    try {
      const slot = this.#claimed(key, claim);
      if (slot >= 0) this.#ints[this.#at(slot) + E_STATE] = EMPTY;
    } finally {
      this.#unlock(bucket);
    }
  }
}

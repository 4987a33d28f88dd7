// The idempotency store: states of a key (new, pending, replay, mismatch),
// expiry, eviction when a bucket is full, busy when it is all pending, and
// one memory seen through two views (as two threads see it).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fingerprint, IdempotencyStore, WAYS } from "../../app/ingest_store.ts";

const TTL = 60_000;

/** `n` distinct keys that all fall into one bucket of a store of `buckets` buckets. */
async function sameBucket(n: number, buckets: number): Promise<Int32Array[]> {
  const keys: Int32Array[] = [];
  for (let i = 0; keys.length < n; i++) {
    const key = await fingerprint(`key-${i}`);
    if ((key[0] >>> 0) % buckets === 0) keys.push(key);
  }
  return keys;
}

describe("IdempotencyStore", () => {
  it("a key is new, then pending, then replayed with its values; another body is a mismatch", async () => {
    const store = IdempotencyStore.create({ capacity: 64, values: 3 });
    const key = await fingerprint("client\0k1");
    const body = await fingerprint("[1]");
    const first = store.begin(key, body, 1_000);
    assert.equal(first.state, "new");
    assert.equal(store.begin(key, body, 1_001).state, "pending");
    if (first.state !== "new") return;
    store.complete(first.claim, key, Int32Array.of(7, 8, 9), 1_002, TTL);
    const again = store.begin(key, body, 1_003);
    assert.equal(again.state, "replay");
    if (again.state === "replay") assert.deepEqual([...again.values], [7, 8, 9]);
    assert.equal(store.begin(key, await fingerprint("[2]"), 1_004).state, "mismatch");
    // Past its time, the key is new again.
    assert.equal(store.begin(key, body, 1_002 + TTL + 1).state, "new");
  });

  it("an abandoned claim frees the key; a stale claim cannot complete a newer one", async () => {
    const store = IdempotencyStore.create({ capacity: 8 });
    const key = await fingerprint("k");
    const body = await fingerprint("b");
    const a = store.begin(key, body, 0);
    assert.equal(a.state, "new");
    if (a.state !== "new") return;
    store.abandon(a.claim, key);
    const b = store.begin(key, body, 1);
    assert.equal(b.state, "new");
    if (b.state !== "new") return;
    store.complete(a.claim, key, Int32Array.of(1), 2, TTL); // a's claim is gone: no effect
    assert.equal(store.begin(key, body, 3).state, "pending");
    store.complete(b.claim, key, Int32Array.of(5), 4, TTL);
    const r = store.begin(key, body, 5);
    assert.ok(r.state === "replay" && r.values[0] === 5);
  });

  it("a full bucket forgets its oldest outcome first, counted as an eviction", async () => {
    const store = IdempotencyStore.create({ capacity: 4 * WAYS });
    const keys = await sameBucket(WAYS + 1, 4);
    const body = await fingerprint("b");
    for (const [i, key] of keys.slice(0, WAYS).entries()) {
      const c = store.begin(key, body, i);
      assert.equal(c.state, "new");
      if (c.state === "new") store.complete(c.claim, key, Int32Array.of(i), i, TTL);
    }
    assert.equal(store.evictions, 0);
    assert.equal(store.begin(keys[WAYS], body, 100).state, "new");
    assert.equal(store.evictions, 1);
    // keys[0] (the oldest) was forgotten; keys[1] is still known.
    assert.equal(store.begin(keys[1], body, 101).state, "replay");
    // Its bucket is full (seven outcomes, one pending): the oldest outcome makes room again.
    assert.equal(store.begin(keys[0], body, 102).state, "new");
    assert.equal(store.evictions, 2);
  });

  it("a bucket of pending claims only is busy, never evicted", async () => {
    const store = IdempotencyStore.create({ capacity: 2 * WAYS });
    const keys = await sameBucket(WAYS + 1, 2);
    const body = await fingerprint("b");
    for (const key of keys.slice(0, WAYS)) assert.equal(store.begin(key, body, 0).state, "new");
    assert.equal(store.begin(keys[WAYS], body, 1).state, "busy");
    assert.equal(store.evictions, 0);
    // A pending claim whose thread vanished frees its entry after a minute.
    assert.equal(store.begin(keys[WAYS], body, 60_001).state, "new");
  });

  it("two views of one buffer (two threads) see the same keys", async () => {
    const mine = IdempotencyStore.create({ capacity: 100, values: 2 });
    const theirs = IdempotencyStore.attach(mine.buffer);
    assert.equal(theirs.capacity, mine.capacity);
    const key = await fingerprint("shared");
    const body = await fingerprint("b");
    const c = mine.begin(key, body, 0);
    assert.equal(theirs.begin(key, body, 0).state, "pending");
    if (c.state === "new") mine.complete(c.claim, key, Int32Array.of(3, 4), 1, TTL);
    const r = theirs.begin(key, body, 2);
    assert.ok(r.state === "replay" && r.values[0] === 3 && r.values[1] === 4);
    assert.throws(() => IdempotencyStore.attach(new SharedArrayBuffer(64)), TypeError);
    assert.throws(() => IdempotencyStore.create({ capacity: 0 }), RangeError);
  });
});

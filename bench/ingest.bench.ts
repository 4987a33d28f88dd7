/**
 * What the ingestion API costs per event, in process (no network): a batch
 * of 1,000 events (a quarter each `login`, `user_action` with seconds,
 * `llm_call` with tokens, `feature_run`) recorded
 *
 * - by calling the catalogue's metrics directly with the same values (the
 *   baseline: what the recording itself costs),
 * - by `ingestHandler` from a `Request` (bearer check, body read, JSON
 *   parse, every event checked, then recorded),
 * - and the same with an `Idempotency-Key` (new each time: two more
 *   SHA-256 digests, and a claim in the shared store).
 *
 * The README reports the handler's time per event and its ratio to the
 * baseline.
 *
 * Run: `deno bench --allow-read --allow-env --allow-sys bench/ingest.bench.ts`
 * (also part of `deno task bench`).
 *
 * @module
 */

import { Registry } from "../src/mod.ts";
import { createTracking } from "../src/tracking/mod.ts";
import { createIngestStore, ingestHandler } from "../app/ingest.ts";

const EVENTS = 1_000;
const TOKEN = "bench-token-0123456789";

const events = Array.from({ length: EVENTS }, (_, i) => {
  switch (i % 4) {
    case 0:
      return { kind: "login" };
    case 1:
      return { kind: "user_action", action: `action-${i % 8}`, seconds: 0.01 };
    case 2:
      return {
        kind: "llm_call",
        model: "gpt-4o",
        endpoint: "chat",
        seconds: 0.5,
        prompt_tokens: 3,
        completion_tokens: 5,
      };
    default:
      return { kind: "feature_run", feature: `feature-${i % 8}`, seconds: 0.2 };
  }
});
const body = JSON.stringify(events);

const direct = createTracking(new Registry());
const m = direct.metrics;

Deno.bench("metrics directly (baseline)", { group: "1,000 events", baseline: true }, () => {
  for (const e of events) {
    switch (e.kind) {
      case "login":
        m.userLoginsTotal.inc();
        break;
      case "user_action":
        m.userActionTotal.inc({ action_type: e.action! });
        m.userActionDurationSeconds.observe({ action_type: e.action! }, e.seconds!);
        break;
      case "llm_call":
        m.llmRequestsTotal.inc({ model: e.model!, endpoint: e.endpoint! });
        m.llmRequestDurationSeconds.observe({ model: e.model!, endpoint: e.endpoint! }, e.seconds!);
        m.llmTokensTotal.inc({ model: e.model!, type: "prompt" }, e.prompt_tokens!);
        m.llmTokensTotal.inc({ model: e.model!, type: "completion" }, e.completion_tokens!);
        break;
      default:
        m.featureUsageTotal.inc({ feature_name: e.feature! });
        m.featureDurationSeconds.observe({ feature_name: e.feature! }, e.seconds!);
    }
  }
});

const tokens = [{ name: "bench", token: TOKEN }];
const handler = ingestHandler(createTracking(new Registry()), { tokens });
const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };

Deno.bench("ingestHandler", { group: "1,000 events" }, async () => {
  const res = await handler(
    new Request("http://localhost/api/v1/events", {
      method: "POST",
      headers,
      body,
    }),
  );
  if (res.status !== 200) throw new Error(await res.text());
  await res.body?.cancel();
});

// A store large enough that the bench's keys never evict one another.
const keyed = ingestHandler(createTracking(new Registry()), {
  tokens,
  store: createIngestStore(1 << 20),
});
let key = 0;

Deno.bench("ingestHandler with Idempotency-Key", { group: "1,000 events" }, async () => {
  const res = await keyed(
    new Request("http://localhost/api/v1/events", {
      method: "POST",
      headers: { ...headers, "Idempotency-Key": `bench-${key++}` },
      body,
    }),
  );
  if (res.status !== 200) throw new Error(await res.text());
  await res.body?.cancel();
});

// 100,000 events from 8 concurrent senders, through a loopback TCP proxy
// that drops connections mid-request and mid-response: every sender retries
// a failed batch with the same Idempotency-Key until it is answered, and a
// real scrape afterwards shows exact counts: nothing lost, nothing doubled.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Registry } from "../../src/mod.ts";
import { createExporter } from "../../app/exporter.ts";
import { INGEST_PATH } from "../../app/ingest.ts";
import { silentLog } from "../../app/log.ts";
import { parseText } from "../_support/parse.ts";
import { fetchText, seeded, serveOnLoopback, valueIn } from "./_support.ts";

const TOKEN = "load-token-0123456789ab";
const SENDERS = 8;
const EVENTS = 100_000;
const BATCH = 500;

/** What the proxy did. */
interface ProxyStats {
  connections: number;
  /** Cut while the client was sending (the server never had the whole request). */
  midRequest: number;
  /** Cut while the server was answering (the batch was recorded, the client never knew). */
  midResponse: number;
}

/**
 * A TCP proxy to `port` on 127.0.0.1 that cuts most connections: 35% after
 * a random number of request bytes (up to 40,000: a batch is about 32,000),
 * 35% after a random number of response bytes (up to 600: an answer is
 * about 200); seeded, so every run cuts alike in bytes.
 */
async function droppingProxy(
  port: number,
): Promise<{ port: number; stats: ProxyStats; close(): Promise<void> }> {
  const random = seeded(13);
  const stats: ProxyStats = { connections: 0, midRequest: 0, midResponse: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    stats.connections++;
    const upstream = connect({ host: "127.0.0.1", port });
    sockets.add(client);
    sockets.add(upstream);
    const roll = random();
    const cutRequestAt = roll < 0.35 ? 1 + Math.floor(random() * 40_000) : Infinity;
    const cutResponseAt = roll >= 0.35 && roll < 0.7 ? 1 + Math.floor(random() * 600) : Infinity;
    let up = 0;
    let down = 0;
    let cut = false;
    const drop = (which: "midRequest" | "midResponse") => {
      if (cut) return;
      cut = true;
      stats[which]++;
      client.destroy();
      upstream.destroy();
    };
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("data", (chunk: Uint8Array) => {
      if (cut) return;
      if (up + chunk.byteLength >= cutRequestAt) {
        upstream.write(chunk.subarray(0, cutRequestAt - up), () => drop("midRequest"));
        up = cutRequestAt;
        return;
      }
      up += chunk.byteLength;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Uint8Array) => {
      if (cut) return;
      if (down + chunk.byteLength >= cutResponseAt) {
        client.write(chunk.subarray(0, cutResponseAt - down), () => drop("midResponse"));
        down = cutResponseAt;
        return;
      }
      down += chunk.byteLength;
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on("close", end);
      s.on("error", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sender `s`'s batch `b`: a fixed mix of four kinds, labelled by sender. */
function batchOf(s: number, b: number): string {
  const events = [];
  for (let i = 0; i < BATCH; i++) {
    switch ((b * BATCH + i) % 4) {
      case 0:
        events.push({ kind: "login" });
        break;
      case 1:
        events.push({ kind: "user_action", action: `sender-${s}`, seconds: 0.01 });
        break;
      case 2:
        events.push({
          kind: "llm_call",
          model: "gpt-4o",
          endpoint: "chat",
          seconds: 0.5,
          prompt_tokens: 3,
          completion_tokens: 5,
        });
        break;
      default:
        events.push({ kind: "feature_run", feature: `feature-${s}`, seconds: 0.2 });
    }
  }
  return JSON.stringify(events);
}

interface SenderStats {
  attempts: number;
  failures: number;
  replays: number;
  busy: number;
}

/** Sends its batches one after another, each until answered 200, retrying with the same key. */
async function sender(s: number, url: string, stats: SenderStats): Promise<void> {
  const batches = EVENTS / SENDERS / BATCH;
  for (let b = 0; b < batches; b++) {
    const body = batchOf(s, b);
    const key = `sender-${s}-batch-${b}`;
    for (let attempt = 1;; attempt++) {
      assert.ok(attempt <= 100, `${key}: still not answered after 100 attempts`);
      stats.attempts++;
      let status: number;
      let text: string;
      let replayed: boolean;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${TOKEN}`,
            "Content-Type": "application/json",
            "Idempotency-Key": key,
          },
          body,
          signal: AbortSignal.timeout(60_000),
        });
        status = res.status;
        replayed = res.headers.get("idempotent-replayed") === "true";
        text = await res.text();
      } catch {
        // Cut by the proxy (before, during or after the server recorded it): send it again.
        stats.failures++;
        await new Promise((r) => setTimeout(r, 5 * attempt));
        continue;
      }
      if (status === 409 || status === 503) {
        // The first attempt is still being recorded (in another request): wait and ask again.
        stats.busy++;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      assert.equal(status, 200, `${key}: ${text}`);
      assert.equal(JSON.parse(text).accepted, BATCH);
      if (replayed) stats.replays++;
      break;
    }
  }
}

describe("ingestion under load and connection drops", () => {
  it("100,000 events from 8 senders, retried through dropped connections: exact counts", async () => {
    const customRegistry = new Registry();
    const exporter = createExporter({
      registry: new Registry(),
      customRegistry,
      log: silentLog,
      ingest: { tokens: [{ name: "load", token: TOKEN }] },
    });
    const server = await serveOnLoopback(exporter.fetch);
    const proxy = await droppingProxy(Number(new URL(server.origin).port));
    try {
      const url = `http://127.0.0.1:${proxy.port}${INGEST_PATH}`;
      const stats: SenderStats = { attempts: 0, failures: 0, replays: 0, busy: 0 };
      await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s, url, stats)));

      // The proxy did cut both ways, and some retries were of batches already recorded.
      assert.ok(proxy.stats.midRequest > 0, JSON.stringify(proxy.stats));
      assert.ok(proxy.stats.midResponse > 0, JSON.stringify(proxy.stats));
      assert.ok(stats.failures > 0, JSON.stringify(stats));
      assert.ok(stats.replays > 0, JSON.stringify(stats));

      // Exact counts, from a real scrape straight to the server.
      const res = await fetchText(`${server.origin}/custom_metrics`);
      const f = parseText(res.body);
      const quarter = EVENTS / 4;
      assert.equal(valueIn(f, "user_logins_total"), quarter);
      assert.equal(
        valueIn(f, "llm_requests_total", { model: "gpt-4o", endpoint: "chat" }),
        quarter,
      );
      assert.equal(
        valueIn(f, "llm_tokens_total", { model: "gpt-4o", type: "prompt" }),
        3 * quarter,
      );
      assert.equal(
        valueIn(f, "llm_tokens_total", { model: "gpt-4o", type: "completion" }),
        5 * quarter,
      );
      for (let s = 0; s < SENDERS; s++) {
        const each = quarter / SENDERS;
        assert.equal(valueIn(f, "user_action_total", { action_type: `sender-${s}` }), each);
        assert.equal(
          valueIn(f, "user_action_duration_seconds_count", { action_type: `sender-${s}` }),
          each,
        );
        assert.equal(valueIn(f, "feature_usage_total", { feature_name: `feature-${s}` }), each);
      }
      console.log(
        `[ingest load] ${EVENTS} events in ${EVENTS / BATCH} batches: ${stats.attempts} ` +
          `attempts, ${stats.failures} cut, ${stats.replays} answered as replays, ${stats.busy} ` +
          `told to wait; proxy: ${JSON.stringify(proxy.stats)}`,
      );
    } finally {
      await proxy.close();
      await server.close();
    }
  });
});

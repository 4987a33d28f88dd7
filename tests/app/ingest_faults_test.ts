// Bad input against POST /api/v1/events on a real loopback server: bodies
// dripping in slower than the body-read deadline (with and without a
// Content-Length), oversize bodies, and a flood of bad batches; each gets a
// clear answer and the server stays healthy (it answers and records a good
// batch at once afterwards).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Registry } from "../../src/mod.ts";
import { createExporter } from "../../app/exporter.ts";
import { INGEST_PATH, type IngestOptions } from "../../app/ingest.ts";
import { silentLog } from "../../app/log.ts";
import {
  fetchText,
  isBun,
  type LoopbackServer,
  serveOnLoopback,
  valueIn,
  waitFor,
} from "./_support.ts";
import { parseText } from "../_support/parse.ts";

const TOKEN = "ingest-token-0123456789";
const HEADERS = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };

async function start(options: Partial<IngestOptions> = {}) {
  const customRegistry = new Registry();
  const exporter = createExporter({
    registry: new Registry(),
    customRegistry,
    log: silentLog,
    ingest: { tokens: [{ name: "fastapi", token: TOKEN }], ...options },
  });
  // Requests to the API that reached the exporter's handler: a sender can hang
  // up once its request is being served.
  const arrived = { count: 0 };
  const server = await serveOnLoopback((request) => {
    if (new URL(request.url).pathname === INGEST_PATH) arrived.count++;
    return exporter.fetch(request);
  });
  return { server, url: server.origin + INGEST_PATH, arrived };
}

/** A raw HTTP/1.1 client on one TCP connection: what a misbehaving sender looks like. */
class RawClient {
  readonly socket: Socket;
  #received = "";
  #closed = false;
  readonly connected: Promise<void>;

  constructor(origin: string) {
    const { hostname, port } = new URL(origin);
    this.socket = connect({ host: hostname, port: Number(port) });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on(
      "data",
      (chunk: Uint8Array) => this.#received += new TextDecoder().decode(chunk),
    );
    this.socket.on("close", () => this.#closed = true);
    this.socket.on("error", () => this.#closed = true);
  }

  get received(): string {
    return this.#received;
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(text: string): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    try {
      this.socket.write(text);
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Resolves once `probe` holds, checking every 10 ms; rejects after `ms` naming `what`. */
async function until(what: string, probe: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A good batch answers 200 and is recorded: the server is healthy. */
async function healthy(server: LoopbackServer, url: string, logins: number): Promise<void> {
  const res = await fetchText(url, {
    method: "POST",
    headers: HEADERS,
    body: '[{"kind":"login"}]',
  });
  assert.equal(res.status, 200, res.body);
  const health = await fetchText(`${server.origin}/healthz`);
  assert.equal(health.status, 200);
  const f = parseText((await fetchText(`${server.origin}/custom_metrics`)).body);
  assert.equal(valueIn(f, "user_logins_total"), logins);
}

/** `ingest_batches_total{client="fastapi",outcome}` from a scrape of /metrics. */
async function outcomes(server: LoopbackServer, outcome: string): Promise<number | undefined> {
  const f = parseText((await fetchText(`${server.origin}/metrics`)).body);
  return valueIn(f, "ingest_batches_total", { client: "fastapi", outcome });
}

function head(url: string, extra: string): string {
  const { host, pathname } = new URL(url);
  return `POST ${pathname} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
    `Content-Type: application/json\r\n${extra}\r\n`;
}

/**
 * Drips `body` one byte every `everyMs` until the server answers or closes;
 * returns what it answered. Stops dripping by itself (never outlives the test).
 */
async function drip(client: RawClient, body: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (; sent < body.length && client.received === "" && !client.closed; sent++) {
    client.write(body[sent]);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}

describe("POST /api/v1/events: faults", () => {
  it("a body dripping in past the deadline (Content-Length) gets a 408, and nothing is recorded", async () => {
    const { server, url } = await start({ bodyTimeoutMs: 400 });
    const client = new RawClient(server.origin);
    try {
      await client.connected;
      const body = JSON.stringify(Array.from({ length: 40 }, () => ({ kind: "login" })));
      client.write(head(url, `Content-Length: ${body.length}\r\n`));
      const dripping = drip(client, body, 50);
      await until("an answer to the slow body", () => client.received.includes("\r\n\r\n"));
      assert.match(client.received, /^HTTP\/1\.1 408 /);
      assert.match(client.received, /"error":"body_timeout"/);
      assert.match(client.received, /within 400 ms/);
      // It answered at the deadline, before the body was all there.
      const sent = await dripping;
      assert.ok(sent < body.length, `answered after ${sent} of ${body.length} bytes`);
      // Bun.serve closes the connection (the answer says Connection: close);
      // Deno.serve keeps it until the client ends it (the handler is done with it either way).
      if (isBun) await until("the server to close the connection", () => client.closed);
      await healthy(server, url, 1);
      assert.equal(await outcomes(server, "timeout"), 1);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it("a chunked body dripping in gets a 408 too; twenty at once leave the server answering", async () => {
    const { server, url } = await start({ bodyTimeoutMs: 400 });
    const clients = Array.from({ length: 20 }, () => new RawClient(server.origin));
    try {
      await Promise.all(clients.map((c) => c.connected));
      const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
      for (const c of clients) c.write(head(url, "Transfer-Encoding: chunked\r\n"));
      const dripping = clients.map(async (c) => {
        for (let i = 0; i < 200 && c.received === "" && !c.closed; i++) {
          c.write(chunk(i === 0 ? "[" : '{"kind":"login"},'));
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      // While they drip, a good sender is served.
      await healthy(server, url, 1);
      await until(
        "answers to all slow bodies",
        () => clients.every((c) => c.received.includes("\r\n\r\n")),
      );
      for (const c of clients) assert.match(c.received, /^HTTP\/1\.1 408 /);
      await Promise.all(dripping);
      await healthy(server, url, 2);
    } finally {
      for (const c of clients) c.destroy();
      await server.close();
    }
  });

  for (const framing of ["Content-Length", "chunked"] as const) {
    it(`a sender that stops mid-body (${framing}) and hangs up records nothing, counted as aborted, not invalid`, async () => {
      // A deadline far away: the hang-up, not the 408, ends the read.
      const { server, url, arrived } = await start({ bodyTimeoutMs: 60_000 });
      const client = new RawClient(server.origin);
      try {
        await client.connected;
        const body = JSON.stringify(Array.from({ length: 10 }, () => ({ kind: "login" })));
        const part = body.slice(0, body.length - 5);
        client.write(
          framing === "chunked"
            ? head(url, "Transfer-Encoding: chunked\r\n") +
              `${part.length.toString(16)}\r\n${part}\r\n`
            : head(url, `Content-Length: ${body.length}\r\n`) + part,
        );
        // Once the request is being served, the sender hangs up mid-body.
        await until("the request to reach the handler", () => arrived.count === 1);
        client.destroy();
        await until("the connection to close", () => client.closed);
        // Counted once the handler has seen the read fail: then as what.
        const counted = async () => {
          const f = parseText((await fetchText(`${server.origin}/metrics`)).body);
          return Object.fromEntries(
            f.find((x) => x.name === "ingest_batches_total")?.samples
              .filter((x) => x.labels.client === "fastapi")
              .map((x) => [x.labels.outcome, x.value]) ?? [],
          );
        };
        await waitFor("the cut-off batch to be counted", async () => {
          return Object.keys(await counted()).length > 0;
        });
        assert.deepEqual(await counted(), { aborted: 1 });
        await healthy(server, url, 1);
        assert.equal(await outcomes(server, "accepted"), 1);
      } finally {
        client.destroy();
        await server.close();
      }
    });
  }

  it("bodies in flight past maxBytesInFlight get a 503 to retry; memory is given back", async () => {
    const { server, url } = await start({ maxBytesInFlight: 1_000, bodyTimeoutMs: 30_000 });
    const holder = new RawClient(server.origin);
    try {
      await holder.connected;
      // 900 bytes of a 2,000-byte body, and then nothing: they stay held.
      holder.write(head(url, "Content-Length: 2000\r\n") + `[${" ".repeat(899)}`);
      const batch = JSON.stringify(Array.from({ length: 10 }, () => ({ kind: "login" })));
      let busy: { status: number; headers: Headers; body: string } | undefined;
      // Until the server has read the holder's bytes, a batch still goes through
      // (and is recorded): count those, so the total below stays exact.
      let takenEarly = 0;
      await waitFor("the held bytes to count", async () => {
        busy = await fetchText(url, { method: "POST", headers: HEADERS, body: batch });
        if (busy.status === 200) takenEarly++;
        else assert.equal(busy.status, 503, busy.body);
        return busy.status === 503;
      });
      assert.equal(JSON.parse(busy!.body).error, "ingestion_busy");
      assert.equal(busy!.headers.get("retry-after"), "1");
      // The holder hangs up: its bytes are given back, and the batch goes through.
      holder.destroy();
      await waitFor("the batch to be taken", async () => {
        const res = await fetchText(url, { method: "POST", headers: HEADERS, body: batch });
        return res.status === 200;
      });
      await healthy(server, url, 10 * takenEarly + 11);
      assert.ok((await outcomes(server, "busy"))! >= 1);
    } finally {
      holder.destroy();
      await server.close();
    }
  });

  it("oversize bodies and a flood of bad batches get their errors; the server stays healthy", async () => {
    const { server, url } = await start({ maxBodyBytes: 64 * 1024 });
    try {
      const big = `[${'{"kind":"login"},'.repeat(5_000)}{"kind":"login"}]`;
      const oversize = await fetchText(url, { method: "POST", headers: HEADERS, body: big });
      assert.equal(oversize.status, 413);
      assert.equal(JSON.parse(oversize.body).error, "body_too_large");
      const bad = ['[{"kind":', '[{"kind":"login","x":1}]', '[{"kind":"warp"}]', "[1,2,3]", "{}"];
      const answers = await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) => fetchText(url, { method: "POST", headers: HEADERS, body: bad[i % bad.length] }),
        ),
      );
      for (const a of answers) {
        assert.equal(a.status, 400);
        assert.match(JSON.parse(a.body).error, /^invalid_(json|events)$/);
      }
      await healthy(server, url, 1);
    } finally {
      await server.close();
    }
  });
});

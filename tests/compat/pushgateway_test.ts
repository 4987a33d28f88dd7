// The drop-in's Pushgateway against a loopback server that checks what a
// Pushgateway reads: the method, the path (job and grouping key), the
// content type and the body.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { Counter, Pushgateway, Registry } from "../../src/compat/mod.ts";
import { parseText, sampleMap, seriesKey } from "../_support/parse.ts";

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Uint8Array;
}

/** A server on 127.0.0.1 answering `status` to everything, recording requests. */
async function gateway(status = 200, answer = "") {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      seen.push({
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: new Uint8Array(Buffer.concat(chunks)),
      });
      res.writeHead(status).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function registryWithJobs(): Registry {
  const r = new Registry();
  new Counter({ name: "jobs_total", help: "Jobs", labelNames: ["kind"], registers: [r] })
    .labels("mail").inc(3);
  return r;
}

describe("Pushgateway (drop-in)", () => {
  it("pushAdd POSTs, push PUTs and delete DELETEs the group's path, with the registry's body", async () => {
    const gw = await gateway();
    try {
      const client = new Pushgateway(gw.url, {}, registryWithJobs());
      const result = await client.pushAdd({
        jobName: "batch job",
        groupings: { instance: "host:9", path: "/a/b", empty: "" },
      });
      assert.equal(result.resp.status, 200);
      await client.push({ jobName: "batch" });
      await client.delete({ jobName: "batch", groupings: { instance: "x" } });
      assert.deepEqual(gw.seen.map((s) => [s.method, s.path]), [
        [
          "POST",
          "/metrics/job/batch%20job/instance/host%3A9/path@base64/L2EvYg==/empty@base64/=",
        ],
        ["PUT", "/metrics/job/batch"],
        ["DELETE", "/metrics/job/batch/instance/x"],
      ]);
      for (const s of gw.seen.slice(0, 2)) {
        assert.equal(s.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        const samples = sampleMap(parseText(new TextDecoder().decode(s.body)));
        assert.equal(samples.get(seriesKey("jobs_total", { kind: "mail" }))?.value, 3);
      }
      assert.equal(gw.seen[2].body.length, 0);
    } finally {
      await gw.close();
    }
  });

  it("keeps a base path, sends the configured headers, and gzips when asked", async () => {
    const gw = await gateway();
    try {
      const client = new Pushgateway(
        `${gw.url}/proxy/`,
        { headers: { "Content-Encoding": "gzip", "X-Tenant": "a" } },
        registryWithJobs(),
      );
      await client.push({ jobName: "j" });
      const [s] = gw.seen;
      assert.equal(s.path, "/proxy/metrics/job/j");
      assert.equal(s.headers["x-tenant"], "a");
      assert.equal(s.headers["content-encoding"], "gzip");
      const text = gunzipSync(s.body).toString("utf8");
      assert.match(text, /^jobs_total\{kind="mail"\} 3$/m);
    } finally {
      await gw.close();
    }
  });

  it("rejects with prom-client's error on a status >= 400, and requires a job name", async () => {
    const gw = await gateway(500, "boom");
    try {
      const client = new Pushgateway(gw.url, {}, registryWithJobs());
      await assert.rejects(client.pushAdd({ jobName: "j" }), {
        message: "push failed with status 500, boom",
      });
      assert.throws(() => client.push({}), { message: "Missing jobName parameter" });
      const lax = new Pushgateway(gw.url, { requireJobName: false }, registryWithJobs());
      await assert.rejects(lax.push(), /status 500/);
      assert.equal(gw.seen.at(-1)!.path, "/metrics");
    } finally {
      await gw.close();
    }
  });
});

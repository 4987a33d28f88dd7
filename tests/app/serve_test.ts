import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { RunningServer } from "../../app/serve.ts";
import { startServer, unhandledError } from "../../app/serve.ts";
import { fetchText, gate, isDeno } from "./_support.ts";

const skip = !isDeno && "startServer runs on Deno.serve; run these under deno test";

/** startServer with its listening line captured (its `log` option) instead of printed. */
async function start(
  handler: (request: Request) => Response | Promise<Response>,
): Promise<{ server: RunningServer; logged: string[] }> {
  const logged: string[] = [];
  const log = (message: string) => void logged.push(message);
  return { server: await startServer({ hostname: "127.0.0.1", port: 0, log }, handler), logged };
}

describe("startServer", { skip }, () => {
  it("listens on a free port, says where, and serves", async () => {
    const { server, logged } = await start(() => new Response("hi"));
    try {
      assert.equal(server.addr.hostname, "127.0.0.1");
      assert.ok(server.addr.port > 0);
      assert.equal(logged.length, 1);
      assert.ok(
        logged[0].includes(`listening on http://127.0.0.1:${server.addr.port}/`),
        logged[0],
      );
      assert.equal((await fetchText(`http://127.0.0.1:${server.addr.port}/`)).body, "hi");
    } finally {
      await server.shutdown(5_000);
    }
  });

  it("shutdown() lets an in-flight request finish and reports it drained", async () => {
    const release = gate();
    const arrived = gate();
    const { server } = await start(async () => {
      arrived.open();
      await release.promise;
      return new Response("done");
    });
    const pending = fetchText(`http://127.0.0.1:${server.addr.port}/`);
    await arrived.promise;
    const stopping = server.shutdown(30_000);
    release.open();
    assert.equal(await stopping, true);
    assert.equal((await pending).body, "done");
    await server.finished;
    await assert.rejects(fetch(`http://127.0.0.1:${server.addr.port}/`));
  });

  it("shutdown(timeout) gives up on a request that outlives it and reports false", async () => {
    const release = gate();
    const arrived = gate();
    const { server } = await start(async () => {
      arrived.open();
      await release.promise;
      return new Response("late");
    });
    const pending = fetchText(`http://127.0.0.1:${server.addr.port}/`);
    try {
      await arrived.promise;
      assert.equal(await server.shutdown(50), false);
    } finally {
      release.open();
      await pending.catch(() => {});
      await server.finished;
    }
  });
});

describe("unhandledError (Deno.serve's onError)", () => {
  it("answers 500 every time, and logs one line per error type", async () => {
    const logged: string[] = [];
    const onError = unhandledError((m) => logged.push(m));
    for (let i = 0; i < 3; i++) {
      assert.equal(onError(new TypeError(`broken\nsecond line ${i}`)).status, 500);
      assert.equal(await onError(new RangeError("out")).text(), "Internal Server Error\n");
    }
    assert.equal(logged.length, 2, logged.join("\n"));
    assert.match(
      logged[0],
      /^\[server\] unhandled error while serving a request: TypeError: broken /,
    );
    assert.match(logged[1], /RangeError: out/);
    for (const line of logged) assert.ok(!line.includes("\n"), "one line");
  });
});

// Bun hides skipped suites; this line names why they did not run.
if (!isDeno) it(`startServer tests skipped: ${skip}`, { skip: true }, () => {});

/**
 * What the LLM gateway costs, against a fake OpenAI-compatible upstream on
 * loopback (`_gateway_upstream.ts`), in one run:
 *
 * 1. Latency added: small non-streamed chat calls, one at a time on one
 *    keep-alive connection, alternating direct (client → upstream) and
 *    through the gateway (client → `deno task start` with the gateway →
 *    upstream). Reported: the p50 of each side and their difference (target:
 *    at most 1 ms added).
 * 2. Streaming throughput: `--streams` concurrent streamed chat calls of
 *    `--tokens` tokens each, read to the end by a client that counts the
 *    content chunks, direct and through the gateway, alternating rounds
 *    (ABBA). Twice: the upstream at full speed (every process competing for
 *    the CPU: the bound is CPU, and the gateway is one more process doing
 *    work per chunk, about 10 µs a token), then 2 and 10 streams paced at
 *    1 ms a token (a fast model: the bound is the upstream, as with a real
 *    one, as long as the machine has CPU to spare).
 *    Reported: tokens per second of each side, the median of the rounds,
 *    and their ratio (target: at least 0.9).
 *
 * Three processes: the upstream and the gateway (main.ts with the start
 * task's flags, one thread, client keys on, so the key check is in the
 * measurement) are subprocesses; the client is this script. On a loaded
 * 2-core machine they share the CPU with each other and anything else:
 * report ratios from one run, and say the machine was loaded.
 *
 * Run: `deno task bench:gateway [--calls=2000] [--streams=20] [--tokens=500]
 * [--rounds=3]` (about 30 s with the defaults). Prints a Markdown table on
 * stdout, progress on stderr. Only 127.0.0.1; every subprocess is killed at
 * the end. `--serve-upstream` runs the fake upstream alone (what the
 * subprocess does).
 *
 * @module
 */

import { createFakeUpstream } from "./_gateway_upstream.ts";

const UPSTREAM_KEY = "sk-bench-upstream-key-0123456789";
const CLIENT_KEY = "gw-bench-client-key-0123456789";

function arg(name: string, fallback: number): number {
  const raw = Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw);
  if (!(value >= 1) || !Number.isInteger(value)) {
    throw new RangeError(`--${name} must be an integer >= 1 (got ${JSON.stringify(raw)})`);
  }
  return value;
}

if (Deno.args.includes("--serve-upstream")) {
  const { handler } = createFakeUpstream(UPSTREAM_KEY);
  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`upstream ${port}`),
  }, handler);
} else {
  await main();
}

interface Proc {
  port: number;
  stop(): Promise<void>;
}

/** Spawns `deno <args>` and waits for `pattern` (group 1: the port) on stdout or stderr. */
async function spawn(args: string[], env: Record<string, string>, pattern: RegExp): Promise<Proc> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let seen = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port in 60 s: ${seen}`)), 60_000);
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        seen += text;
        const m = pattern.exec(seen);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    };
    read(child.stdout);
    read(child.stderr);
    child.status.then((s) => reject(new Error(`exited ${s.code} before listening: ${seen}`)));
  });
  return {
    port,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

function startTaskFlags(): string[] {
  const json = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)).replace(/^\s*\/\/.*$/gm, ""),
  );
  const words: string[] = json.tasks.start.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

async function chat(base: string, key: string, body: object): Promise<Response> {
  return await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** One streamed call read to the end; returns the content chunks counted. */
async function streamed(base: string, key: string, model: string, tokens: number) {
  const res = await chat(base, key, {
    model,
    messages: [{ role: "user", content: "stream please" }],
    max_tokens: tokens,
    stream: true,
  });
  if (res.status !== 200) throw new Error(`stream: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let count = 0;
  let tail = "";
  for await (const chunk of res.body!) {
    const text = tail + decoder.decode(chunk, { stream: true });
    let at = text.indexOf('"content":"w');
    while (at >= 0) {
      count++;
      at = text.indexOf('"content":"w', at + 12);
    }
    // One character less than the pattern: a match split across chunks is
    // found once, and none inside the tail can be counted twice.
    tail = text.slice(-11);
  }
  if (count !== tokens) throw new Error(`stream: ${count} of ${tokens} tokens arrived`);
  return count;
}

async function throughput(
  base: string,
  key: string,
  model: string,
  streams: number,
  tokens: number,
): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    Array.from({ length: streams }, () => streamed(base, key, model, tokens)),
  );
  const seconds = (performance.now() - started) / 1000;
  return counts.reduce((a, b) => a + b, 0) / seconds;
}

async function main(): Promise<void> {
  const calls = arg("calls", 2000);
  const streams = arg("streams", 20);
  const tokens = arg("tokens", 500);
  const rounds = arg("rounds", 3);
  const self = new URL(import.meta.url).pathname;
  const root = new URL("../", import.meta.url).pathname;
  const upstream = await spawn(
    ["run", "--allow-net=127.0.0.1", self, "--serve-upstream"],
    {},
    /upstream (\d+)/,
  );
  let gateway: Proc | undefined;
  try {
    gateway = await spawn(
      ["run", ...startTaskFlags(), `${root}main.ts`, "--port", "0", "--workers", "1"],
      {
        HOSTNAME: "127.0.0.1",
        GATEWAY_UPSTREAM_URL: `http://127.0.0.1:${upstream.port}/v1`,
        GATEWAY_UPSTREAM_API_KEY: UPSTREAM_KEY,
        GATEWAY_KEYS: `bench:${CLIENT_KEY}`,
      },
      /listening on http:\/\/127\.0\.0\.1:(\d+)\//,
    );
    const direct = `http://127.0.0.1:${upstream.port}/v1`;
    const through = `http://127.0.0.1:${gateway.port}/v1`;
    const sides = [[direct, UPSTREAM_KEY], [through, CLIENT_KEY]] as const;
    const small = { model: "bench", messages: [{ role: "user", content: "hi" }], max_tokens: 5 };

    console.error(`latency: ${calls} calls each side, alternating`);
    for (let i = 0; i < 200; i++) {
      for (const [base, key] of sides) await (await chat(base, key, small)).arrayBuffer();
    }
    const ms: [number[], number[]] = [[], []];
    for (let i = 0; i < calls; i++) {
      // Alternate which side goes first, so neither always follows the other.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const s of order) {
        const [base, key] = sides[s];
        const t = performance.now();
        const res = await chat(base, key, small);
        await res.arrayBuffer();
        ms[s].push(performance.now() - t);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      }
    }
    const p50 = ms.map((m) => median(m));
    const p99 = ms.map((m) => percentile(m, 0.99));

    const rows: string[] = [];
    rows.push(
      `| latency added, p50 (non-streamed chat, one connection) | ` +
        `${p50[1].toFixed(3)} ms | ${p50[0].toFixed(3)} ms | +${
          (p50[1] - p50[0]).toFixed(3)
        } ms | ` +
        `<= 1 ms | ${p50[1] - p50[0] <= 1 ? "yes" : "no"} |`,
    );
    rows.push(
      `| latency, p99 (same calls) | ${p99[1].toFixed(3)} ms | ${p99[0].toFixed(3)} ms | ` +
        `+${(p99[1] - p99[0]).toFixed(3)} ms | | |`,
    );
    const configs = [["bench", "full speed", streams], ["paced", "1 ms a token", 2], [
      "paced",
      "1 ms a token",
      10,
    ]] as const;
    for (const [model, what, s] of configs) {
      // Paced: 2 streams leave the CPU mostly idle, so the tokens come at the
      // upstream's pace; 10 (10,000 tokens/s asked) load it.
      const n = model === "paced" ? Math.min(tokens, 300) : tokens;
      console.error(`throughput (${what}): ${s} streams x ${n} tokens, ${rounds} rounds ABBA`);
      await throughput(direct, UPSTREAM_KEY, model, s, Math.min(n, 50)); // warm-up
      await throughput(through, CLIENT_KEY, model, s, Math.min(n, 50));
      const rates: [number[], number[]] = [[], []];
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const side of order) {
          const [base, key] = sides[side];
          rates[side].push(await throughput(base, key, model, s, n));
        }
      }
      const d = median(rates[0]);
      const g = median(rates[1]);
      const ratio = g / d;
      const each = rates[1].map((x, i) => (x / rates[0][i]).toFixed(2)).join(", ");
      rows.push(
        `| streaming throughput, upstream at ${what} (${s} streams x ${n} tokens) | ` +
          `${Math.round(g).toLocaleString("en")} tokens/s | ` +
          `${Math.round(d).toLocaleString("en")} tokens/s | ${
            ratio.toFixed(2)
          } (rounds: ${each}) | ` +
          `>= 0.90 | ${ratio >= 0.9 ? "yes" : "no"} |`,
      );
    }
    const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
    console.log(
      `LLM gateway against a fake upstream on loopback, ${
        new Date().toISOString().slice(0, 10)
      }, ` +
        `load average ${load}, ${navigator.hardwareConcurrency} cores:\n`,
    );
    console.log("| measure | through the gateway | direct | gateway vs direct | target | met? |");
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(row);
  } finally {
    await gateway?.stop();
    await upstream.stop();
  }
}

/**
 * Helpers for the framework middleware tests (Hono, Oak, Elysia): loading
 * the real framework from npm under either runtime, reading a scrape, and
 * the cases every framework passes the same way ({@linkcode sharedCases}).
 *
 * Deno loads `npm:` specifiers itself (versions in deno.lock). Bun does not
 * support them: it loads the package installed in `tests/_bun/node_modules`
 * from `tests/_bun/package.json` (`.ci/run` installs it before the Bun
 * suite). That package.json sits in a folder of its own, away from any
 * source: Deno takes a folder with a package.json for a workspace member
 * with its own settings, and would format the files below it at its default
 * line width. Each test imports the package's types with
 * `import type ... from "npm:..."` (Deno type-checks against them; Bun
 * erases type imports) and the module itself through {@linkcode loadPackage}.
 *
 * @module
 */

import { it } from "node:test";
import assert from "node:assert/strict";
import type { Registry } from "../../src/core/registry.ts";
import type { RecordingOptions } from "../../src/http/mod.ts";
import { type Family, family, parseText, type Sample } from "../_support/parse.ts";
import { checkMetrics, hasPromtool } from "../_support/promtool.ts";
import { gate, isBun } from "../app/_support.ts";

/** Where Bun finds the test-only packages (see the module documentation). */
const BUN_PACKAGES = decodeURIComponent(new URL("../_bun/", import.meta.url).pathname);

/**
 * Imports a package: `denoSpecifier` (`npm:hono@4`) under Deno, `name`
 * (`hono`, `hono/http-exception`) from tests/_bun/node_modules under Bun.
 */
export function loadPackage(name: string, denoSpecifier: string): Promise<unknown> {
  if (!isBun) return import(denoSpecifier);
  const bun = (globalThis as { Bun?: { resolveSync(name: string, from: string): string } }).Bun!;
  let path: string;
  try {
    path = bun.resolveSync(name, BUN_PACKAGES);
  } catch (error) {
    throw new Error(
      `${name} is not installed for Bun: run \`npm install --prefix tests/_bun\` (${error})`,
    );
  }
  return import(path);
}

/** Fetches `url` (a `/metrics` endpoint) and parses the Prometheus text it answers. */
export async function scrapeUrl(url: string): Promise<Family[]> {
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200) {
    throw new Error(`scrape of ${url}: ${res.status} ${body}`);
  }
  return parseText(body);
}

/** Every sample named `name`, as `"label=value,..." -> value` with the labels in `keys` order. */
export function byLabels(
  families: readonly Family[],
  name: string,
  keys: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name === name) {
        out[keys.map((k) => s.labels[k]).join(" ")] = s.value;
      }
    }
  }
  return out;
}

/** `http_requests_total` as `"METHOD status handler" -> count`. */
export function requestTotals(
  families: readonly Family[],
): Record<string, number> {
  return byLabels(families, "http_requests_total", [
    "method",
    "status",
    "handler",
  ]);
}

/** The distinct `handler` label values in a scrape. */
export function handlersIn(families: readonly Family[]): string[] {
  const seen = new Set<string>();
  for (const f of families) {
    for (const s of f.samples as Sample[]) {
      if (s.labels.handler !== undefined) seen.add(s.labels.handler);
    }
  }
  return [...seen].sort();
}

/** Sends `init` to `origin + path` and reads the whole body. */
export async function send(
  origin: string,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(origin + path, { redirect: "manual", ...init });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A handler that signals it started and waits for `release` before it answers. */
export interface Slow {
  entered(): void;
  release: Promise<void>;
}

/**
 * What {@linkcode sharedCases} needs of one framework's test file: its
 * application (the middleware first, `/users/:id`, `/status/:code`, `/slow`
 * answering `"slow"` after `slow`, `/api/items/:item`, an error path,
 * `/metrics` from the same registry) and a loopback server for it.
 */
export interface FrameworkDriver<App> {
  makeApp(options?: RecordingOptions, slow?: Slow): { app: App; registry: Registry };
  serve(app: App, body: (origin: string) => Promise<void>): Promise<void>;
  /** A path whose handler fails (`/throw`, `/denied`). */
  errorPath: string;
  /**
   * Resolves once the app made by `makeApp` recorded `n` requests, where
   * the framework records after the response is sent (Elysia); absent: at once.
   */
  recorded?(app: App, n: number): Promise<void>;
}

/** Registers the cases every framework passes the same way (call inside its `describe`). */
export function sharedCases<App>(driver: FrameworkDriver<App>): void {
  const recorded = (app: App, n: number) => driver.recorded?.(app, n);

  it("in progress goes up while slow requests run, and back to 0", async () => {
    const release = gate();
    const arrived = [gate(), gate()];
    let entered = 0;
    const { app } = driver.makeApp({ excludedHandlers: ["/metrics"] }, {
      entered: () => arrived[entered++]?.open(),
      release: release.promise,
    });
    await driver.serve(app, async (origin) => {
      const first = send(origin, "/slow");
      const second = send(origin, "/slow");
      try {
        await Promise.all(arrived.map((g) => g.promise));
        const during = await scrapeUrl(origin + "/metrics");
        assert.equal(family(during, "http_requests_inprogress").samples[0].value, 2);
        assert.deepEqual(requestTotals(during), {});
      } finally {
        release.open();
      }
      assert.equal((await first).body, "slow");
      assert.equal((await second).body, "slow");
      await recorded(app, 2);
      const after = await scrapeUrl(origin + "/metrics");
      assert.equal(family(after, "http_requests_inprogress").samples[0].value, 0);
      assert.deepEqual(requestTotals(after), { "GET 2xx /slow": 2 });
    });
  });

  it("the output passes `promtool check metrics`", {
    skip: !hasPromtool && "promtool not installed",
  }, async () => {
    const { app, registry } = driver.makeApp();
    const paths = ["/users/1", "/nope", "/status/500", driver.errorPath, "/api/items/1"];
    await driver.serve(app, async (origin) => {
      for (const p of paths) await send(origin, p);
      await recorded(app, paths.length);
    });
    const r = checkMetrics(await registry.metrics());
    assert.equal(r.stdout + r.stderr, "");
    assert.equal(r.status, 0);
  });
}

/**
 * Helpers for the framework middleware tests (Hono, Oak, Elysia): loading
 * the real framework from npm under either runtime, and reading a scrape.
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

import { type Family, parseText, type Sample } from "../_support/parse.ts";
import { isBun } from "../app/_support.ts";

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

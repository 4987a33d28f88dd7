/**
 * Test helpers for the HTTP and server tests: a real HTTP server on
 * 127.0.0.1 (port 0) under whichever runtime runs the test, scrape parsing,
 * and a seeded PRNG.
 *
 * @module
 */

import type { Registry } from "../../src/core/registry.ts";
import { type Family, parseText, type Sample, seriesKey } from "../_support/parse.ts";

/** A fetch handler as both runtimes call it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A server started by {@linkcode serveOnLoopback}. */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  /** Which runtime's server this is. */
  readonly runtime: "deno" | "bun";
  /** Stops the server (in-flight requests are cut). */
  close(): Promise<void>;
}

interface DenoServeLike {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen(addr: { port: number }): void;
    },
    handler: FetchHandler,
  ): { shutdown(): Promise<void>; finished: Promise<void> };
}

interface BunServeLike {
  serve(options: { hostname: string; port: number; fetch: FetchHandler }): {
    port: number;
    stop(closeActive?: boolean): Promise<void> | void;
  };
}

/** Whether this test runs under Bun. */
export const isBun: boolean = (globalThis as { Bun?: unknown }).Bun !== undefined;
/** Whether this test runs under Deno. */
export const isDeno: boolean = !isBun && (globalThis as { Deno?: unknown }).Deno !== undefined;

/**
 * Starts `handler` on a real server on 127.0.0.1, port 0: `Bun.serve` under
 * Bun, `Deno.serve` under Deno. The caller closes it in `finally`.
 */
export function serveOnLoopback(handler: FetchHandler): Promise<LoopbackServer> {
  const g = globalThis as { Bun?: BunServeLike; Deno?: DenoServeLike };
  if (g.Bun !== undefined) {
    const server = g.Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
    return Promise.resolve({
      origin: `http://127.0.0.1:${server.port}`,
      runtime: "bun",
      close: async () => {
        await server.stop(true);
      },
    });
  }
  if (g.Deno !== undefined) {
    const deno = g.Deno;
    return new Promise((resolve) => {
      const server = deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        onListen({ port }) {
          resolve({
            origin: `http://127.0.0.1:${port}`,
            runtime: "deno",
            close: async () => {
              await server.shutdown();
              await server.finished;
            },
          });
        },
      }, handler);
    });
  }
  throw new Error("serveOnLoopback: neither Deno nor Bun");
}

/** Fetches and reads the whole body, so no connection is left half-read. */
export async function fetchText(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** Parses a registry's Prometheus text scrape. */
export async function scrape(registry: Registry): Promise<Family[]> {
  return parseText(await registry.metrics());
}

/**
 * The value of the sample `name{labels}` in `families`, or `undefined` if
 * there is no such sample. Label order does not matter.
 */
export function valueIn(
  families: readonly Family[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const key = seriesKey(name, labels);
  for (const f of families) {
    for (const s of f.samples) if (seriesKey(s.name, s.labels) === key) return s.value;
  }
  return undefined;
}

/** Every sample of every family, as series keys (name plus sorted labels). */
export function seriesKeys(families: readonly Family[]): Set<string> {
  const out = new Set<string>();
  for (const f of families) for (const s of f.samples) out.add(seriesKey(s.name, s.labels));
  return out;
}

/** The samples named exactly `name`. */
export function samplesNamed(families: readonly Family[], name: string): Sample[] {
  return families.flatMap((f) => f.samples.filter((s) => s.name === name));
}

/** mulberry32: a 32-bit seeded generator of floats in [0, 1), so every run sees the same paths. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A promise with its resolve function outside, for handlers a test releases by hand. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((r) => open = r);
  return { promise, open };
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Test support for the LLM gateway: the fake upstream and the exporter with
 * its gateway, each on a real server on 127.0.0.1, and scrapes of the
 * exporter's `/custom_metrics`.
 *
 * @module
 */

import { Registry } from "../../src/core/registry.ts";
import { createExporter } from "../../app/exporter.ts";
import { silentLog } from "../../app/log.ts";
import type { GatewaySettings } from "../../app/gateway/settings.ts";
import { createFakeUpstream, type FakeUpstream } from "../../bench/_gateway_upstream.ts";
import { type Family, parseText } from "../_support/parse.ts";
import { type LoopbackServer, serveOnLoopback, valueIn } from "./_support.ts";
import { loadPackage } from "../http/_frameworks.ts";
import type * as OpenAIModule from "npm:openai@7.55.0";

/** The real OpenAI SDK (npm `openai`), under Deno and Bun alike. */
export const OpenAI: typeof OpenAIModule.default =
  ((await loadPackage("openai", "npm:openai@7.55.0")) as typeof OpenAIModule).default;

/** The key the fake upstream requires (the gateway's own). */
export const UPSTREAM_KEY = "sk-upstream-0123456789abcdefSECRET";
/** A client key the gateway accepts, named `alice`. */
export const ALICE = "gw-alice-0123456789abcdefSECRET";
/** A client key the gateway accepts, named `bob`. */
export const BOB = "gw-bob-fedcba9876543210SECRET";

/** A running fake upstream and gateway. */
export interface GatewayRig {
  /** The fake upstream (what it saw). */
  fake: FakeUpstream;
  /** The fake upstream's server. */
  upstream: LoopbackServer;
  /** The exporter's server (gateway under /v1). */
  server: LoopbackServer;
  /** Every line the exporter logged. */
  lines: string[];
  /** An OpenAI SDK client pointed at the gateway, with `apiKey` (default alice's), no retries. */
  client(apiKey?: string): InstanceType<typeof OpenAIModule.default>;
  /** A real scrape of the exporter's /custom_metrics, parsed. */
  scrape(): Promise<Family[]>;
  /** Stops both servers. */
  close(): Promise<void>;
}

/**
 * Starts the fake upstream and an exporter whose gateway forwards to it,
 * with client keys alice and bob unless `settings` says otherwise.
 */
export async function startGateway(
  settings: Partial<GatewaySettings> = {},
  options: { slowMs?: number; upstreamOrigin?: string } = {},
): Promise<GatewayRig> {
  const fake = createFakeUpstream(UPSTREAM_KEY, options.slowMs);
  const upstream = await serveOnLoopback(fake.handler);
  const lines: string[] = [];
  const exporter = createExporter({
    registry: new Registry(),
    customRegistry: new Registry(),
    gateway: {
      upstream: `${options.upstreamOrigin ?? upstream.origin}/v1`,
      upstreamKey: UPSTREAM_KEY,
      upstreamKeyFile: undefined,
      keys: [{ name: "alice", token: ALICE }, { name: "bob", token: BOB }],
      keysFile: undefined,
      timeoutMs: 30_000,
      maxBodyBytes: 64 * 1024,
      ...settings,
    },
    log: (line) => lines.push(line),
    notices: silentLog,
  });
  let server: LoopbackServer;
  try {
    server = await serveOnLoopback(exporter.fetch);
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    fake,
    upstream,
    server,
    lines,
    client: (apiKey = ALICE) =>
      new OpenAI({ apiKey, baseURL: `${server.origin}/v1`, maxRetries: 0, timeout: 60_000 }),
    scrape: async () => {
      const res = await fetch(`${server.origin}/custom_metrics`);
      return parseText(await res.text());
    },
    close: async () => {
      await server.close();
      await upstream.close();
    },
  };
}

/** The value of `name{labels}`, 0 when the series is absent. */
export function value(
  families: readonly Family[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return valueIn(families, name, labels) ?? 0;
}

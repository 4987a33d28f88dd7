/**
 * Demo application routes (`--demo`): a stand-in for the SecureTrack
 * application, so every metric of the catalogue can be driven over HTTP
 * (by `deno task demo`, by tests, or by hand with curl). Off by default.
 *
 * Every route answers JSON. Durations come from `?ms=` (clamped to 0–30,000)
 * so a caller can shape latency distributions; `?fail=1` makes a feature
 * fail. Label values from the URL are bounded by the catalogue's series caps.
 *
 * @module
 */

import type { LLMService, Tracking } from "../src/tracking/mod.ts";
import type { RouteHandler } from "./app.ts";

/** Thrown by a demo feature asked to fail (`?fail=1`), so it shows up as an error type. */
export class DemoFeatureError extends Error {
  /** @param feature the feature that failed */
  constructor(feature: string) {
    super(`demo feature "${feature}" failed on request`);
    this.name = "DemoFeatureError";
  }
}

function query(request: Request): URLSearchParams {
  return new URL(request.url).searchParams;
}

function delayMs(request: Request): number {
  const ms = Number(query(request).get("ms") ?? 0);
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 30_000) : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function segment(request: Request, index: number): string {
  return decodeURIComponent(new URL(request.url).pathname.split("/")[index] ?? "");
}

const ok = (body: Record<string, unknown> = {}): Response => Response.json({ ok: true, ...body });

/**
 * The demo routes, keyed by pathname template, for `createApp({ routes })`.
 * They record into `tracking`'s registry (`createTracking(customRegistry)`).
 * `llm` gives the client `/api/llm/chat` uses for a model (default: one per
 * model, configured from the `LLM_*` environment variables, created on first
 * use); `?model=` picks the model (at most 8 distinct ones, then the default).
 *
 * @example
 * ```ts
 * import { createApp } from "./app.ts";
 * import { demoRoutes } from "./demo.ts";
 * import { Registry } from "../src/mod.ts";
 * import { createTracking } from "../src/tracking/mod.ts";
 * const customRegistry = new Registry();
 * const routes = demoRoutes(createTracking(customRegistry));
 * const app = createApp({ registry: new Registry(), customRegistry, routes });
 * ```
 */
export function demoRoutes(
  tracking: Tracking,
  llm?: (model: string | undefined) => LLMService,
): Record<string, RouteHandler> {
  const {
    FeatureMetrics,
    UserActionTimer,
    observeAnalysisComplexity,
    setWorkspaceSize,
    trackAuthFailure,
    trackSessionEnd,
    trackSessionStart,
    trackUserLogin,
    trackUserRegistration,
  } = tracking;
  const clients = new Map<string, LLMService>();
  const getLLM = llm ?? ((model: string | undefined) => {
    const key = model !== undefined && (clients.has(model) || clients.size < 8) ? model : "";
    let client = clients.get(key);
    if (client === undefined) {
      client = new tracking.LLMService(key === "" ? {} : { model: key });
      clients.set(key, client);
    }
    return client;
  });
  return {
    "/api/login": (request) => {
      const params = query(request);
      if (params.get("ok") === "0") {
        trackAuthFailure(params.get("reason") ?? "invalid_credentials");
        return Response.json({ ok: false }, { status: 401 });
      }
      trackSessionStart();
      trackUserLogin();
      return ok();
    },
    "/api/logout": () => {
      trackSessionEnd();
      return ok();
    },
    "/api/register": () => {
      trackUserRegistration();
      return ok();
    },
    "/api/features/:name": async (request) => {
      const name = segment(request, 3);
      using feature = new FeatureMetrics(name);
      await sleep(delayMs(request));
      if (query(request).get("fail") === "1") {
        const error = new DemoFeatureError(name);
        feature.fail(error);
        throw error;
      }
      const score = Number(query(request).get("complexity") ?? NaN);
      if (Number.isFinite(score)) observeAnalysisComplexity(name, score);
      return ok({ feature: name });
    },
    "/api/actions/:type": async (request) => {
      const type = segment(request, 3);
      // UserActionTimer counts the action in user_action_total when it ends, and
      // times it: calling trackUserAction as well would count every action twice.
      using _timer = new UserActionTimer(type);
      await sleep(delayMs(request));
      return ok({ action: type });
    },
    "/api/workspaces/:user": (request) => {
      const user = segment(request, 3);
      setWorkspaceSize(user, Number(query(request).get("bytes") ?? 0));
      return ok({ user });
    },
    "/api/llm/chat": async (request) => {
      const prompt = query(request).get("prompt") ?? "Summarise the latest threat report.";
      const stream = query(request).get("stream") === "1";
      const service = getLLM(query(request).get("model") ?? undefined);
      if (!stream) {
        const answer = await service.generateResponse({ prompt });
        return ok({ model: answer.model, chars: answer.text.length });
      }
      let chars = 0;
      for await (const chunk of service.streamResponse({ prompt })) chars += chunk.length;
      return ok({ streamed: true, chars });
    },
  };
}

/**
 * The event ingestion API, `POST /api/v1/events`: other processes (a
 * FastAPI app, a Go service, curl) feed the SecureTrack catalogue with typed
 * events (see `ingest_events.ts`), a JSON array or NDJSON per request.
 *
 * What a request goes through, in order, each step answering on failure
 * with a JSON body `{ "error": code, "message": sentence, ... }`:
 *
 * 1. `POST` only (405); a bearer token of the configured named tokens,
 *    compared in constant time, separate from the metrics token (401).
 * 2. `Content-Type` `application/json` (a JSON array of events) or
 *    `application/x-ndjson` (also `application/ndjson`, `application/jsonl`:
 *    one event per line, blank lines skipped); any other type, or none, is
 *    415: the body is never guessed at.
 * 3. The body, at most `maxBodyBytes` (413, before reading when
 *    `Content-Length` says so), in full within `bodyTimeoutMs` of the
 *    handler's start (408 with `Connection: close`: a body dripping in
 *    cannot hold the handler or its memory), valid UTF-8 (400); past
 *    `maxBytesInFlight` bytes of bodies held at once by this handler, 503
 *    with `Retry-After: 1`.
 * 4. At most `maxEvents` events (413), each checked against the catalogue;
 *    any bad event fails the batch (400), listing each bad event by index
 *    (and NDJSON line) with its reason, the first 100 of them. Nothing of a
 *    failed batch is recorded.
 * 5. With `Idempotency-Key` (1-255 visible ASCII characters, optionally
 *    quoted; 400 otherwise), scoped to the client's token name: a key seen
 *    with the same body answers the first outcome again without recording
 *    (`Idempotent-Replayed: true`); with another body, 422; while its first
 *    request is still being recorded, 409 with `Retry-After: 1`. Only
 *    successes are kept: a batch that failed can be retried as it is.
 * 6. All events recorded, in order, synchronously; 200 with
 *    `{ "accepted": n, "counts": { kind: n, ... } }`.
 *
 * @module
 */

import { Counter, Gauge, type Registry } from "../src/mod.ts";
import type { Tracking } from "../src/tracking/mod.ts";
import { ingestTokenList, type ServerConfig } from "./config.ts";
import { readSettingsFile } from "./config_error.ts";
import { type ClientKey, clientKeyAuth } from "./keys.ts";
import { type CheckedEvent, checkEvent, EVENT_KINDS, recordEvents } from "./ingest_events.ts";
import { fingerprint, IdempotencyStore } from "./ingest_store.ts";

/** The path the ingestion API is served at. */
export const INGEST_PATH = "/api/v1/events";

/** Options of {@linkcode ingestHandler}. */
export interface IngestOptions {
  /** The clients, by name, and the bearer tokens they present. At least one. */
  tokens: readonly ClientKey[];
  /**
   * Where idempotency keys are kept. Default: a store of 16,384 keys for
   * this handler alone; server threads of one process share one, made by
   * {@linkcode createIngestStore} and passed to each.
   */
  store?: IdempotencyStore;
  /** How long an outcome is kept for a retry with the same key, in ms (default 3,600,000: an hour). */
  keyTtlMs?: number;
  /** Most events in one batch (default 10,000). */
  maxEvents?: number;
  /** Largest body, in bytes (default 2 MiB). */
  maxBodyBytes?: number;
  /** Time from the request's arrival at the handler to the body's end, in ms (default 10,000). */
  bodyTimeoutMs?: number;
  /**
   * Most body bytes this handler holds at once, over all its requests in
   * flight (default 64 MiB); a request that would pass it gets a 503 with
   * `Retry-After: 1`, so memory stays bounded however many senders come.
   */
  maxBytesInFlight?: number;
  /**
   * Where the API counts its own work (the exporter passes the `/metrics`
   * registry): `ingest_batches_total{client,outcome}`,
   * `ingest_events_total{client,kind}` and the configured clients,
   * `ingest_clients{client}` (1 each), `client` being a token's name. Absent:
   * not counted.
   */
  registry?: Registry;
}

/** Defaults of {@linkcode IngestOptions}. */
export const INGEST_DEFAULTS: {
  readonly keyTtlMs: number;
  readonly maxEvents: number;
  readonly maxBodyBytes: number;
  readonly bodyTimeoutMs: number;
  readonly maxBytesInFlight: number;
  readonly storeCapacity: number;
} = Object.freeze({
  keyTtlMs: 3_600_000,
  maxEvents: 10_000,
  maxBodyBytes: 2 * 1024 * 1024,
  bodyTimeoutMs: 10_000,
  maxBytesInFlight: 64 * 1024 * 1024,
  storeCapacity: 16_384,
});

/** Most bad events a 400 lists (with the total), so an error body stays small. */
const MAX_LISTED = 100;

/**
 * A new idempotency store sized for the ingestion API (`capacity` keys,
 * default 16,384: about 1.7 MB). Create it once per process and give it to
 * every thread's handler (its `buffer` crosses `postMessage`; see
 * `IdempotencyStore.attach`).
 *
 * @example
 * ```ts
 * import { createIngestStore } from "./ingest.ts";
 * const store = createIngestStore();
 * console.log(store.capacity); // 16384
 * ```
 */
export function createIngestStore(
  capacity: number = INGEST_DEFAULTS.storeCapacity,
): IdempotencyStore {
  // Kept per outcome: the number accepted, then one count per kind.
  return IdempotencyStore.create({ capacity, values: 1 + EVENT_KINDS.length });
}

const JSON_TYPE = { "Content-Type": "application/json" };

/**
 * A batch's outcome by the status it was answered with (after the client was
 * known); also `replayed` (a 200 from an idempotency key) and `aborted` (an
 * upload the sender cut off).
 */
const OUTCOMES: Readonly<Record<number, string>> = {
  200: "accepted",
  400: "invalid",
  408: "timeout",
  409: "key_conflict",
  413: "too_large",
  415: "unsupported",
  422: "key_conflict",
  503: "busy",
};

/**
 * Answers to uploads the sender cut off: nobody reads them, and they are
 * counted as `aborted`, not by their status (a 400, like a bad batch).
 */
const ABORTED = new WeakSet<Response>();

/**
 * The API's own metrics, in `registry`: its two counters, and the configured
 * clients, `ingest_clients{client} 1` for each token's name (never the
 * token), so that a rule can tell a client that sent nothing from one that
 * is not configured (a counter's series appears only with a client's first
 * batch). One series per token name and no more: its cap is their number,
 * so however many clients are configured none is folded into `__overflow__`,
 * and nothing a request sends adds a series. `max` across the threads or
 * workers of a process, each of which sets it: 1, not the number of threads.
 */
function ingestCounters(registry: Registry, clients: readonly string[]) {
  const configured = new Gauge({
    name: "ingest_clients",
    help: "Ingestion clients configured (each token's name, never the token): 1 each",
    labelNames: ["client"],
    maxSeries: clients.length,
    aggregate: "max",
    registry,
  });
  for (const client of clients) configured.set({ client }, 1);
  return {
    batches: new Counter({
      name: "ingest_batches_total",
      help: "Event batches received by the ingestion API, by client (token name) and outcome",
      labelNames: ["client", "outcome"],
      registry,
    }),
    events: new Counter({
      name: "ingest_events_total",
      help: "Events recorded by the ingestion API, by client (token name) and kind",
      labelNames: ["client", "kind"],
      registry,
    }),
  };
}

function failure(
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error, message, ...extra }) + "\n", {
    status,
    headers: { ...JSON_TYPE, ...headers },
  });
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`ingestHandler: ${option} must be a positive integer, got ${value}`);
  }
  return value;
}

type Format = "json" | "ndjson";

function formatOf(contentType: string | null): Format | undefined {
  if (contentType === null) return undefined;
  const [essence, ...params] = contentType.split(";").map((p) => p.trim().toLowerCase());
  for (const param of params) {
    const [name, value] = param.split("=").map((p) => p.trim().replace(/^"|"$/g, ""));
    if (name === "charset" && value !== "utf-8" && value !== "utf8") return undefined;
  }
  if (essence === "application/json") return "json";
  if (
    essence === "application/x-ndjson" || essence === "application/ndjson" ||
    essence === "application/jsonl" || essence === "application/x-jsonlines"
  ) return "ndjson";
  return undefined;
}

/** How reading the body ended. */
type Body =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; response: Response };

/**
 * Reads the body whole, within its limits; `reserve(n)` takes `n` bytes
 * from the handler's budget of bytes in flight, or answers false when that
 * would pass it (the caller gives back what was taken).
 */
async function readBody(
  request: Request,
  maxBytes: number,
  deadline: number,
  timeoutMs: number,
  reserve: (bytes: number) => boolean,
): Promise<Body> {
  const tooLarge = () =>
    failure(413, "body_too_large", `the body is larger than the limit of ${maxBytes} bytes`);
  const length = request.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length) && Number(length) > maxBytes) {
    return { ok: false, response: tooLarge() };
  }
  if (request.body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()));
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), late]);
      if (next === "late") {
        return {
          ok: false,
          response: failure(
            408,
            "body_timeout",
            `the body did not arrive in full within ${timeoutMs} ms`,
            {},
            { Connection: "close" },
          ),
        };
      }
      if (next.done) break;
      size += next.value.byteLength;
      if (size > maxBytes) return { ok: false, response: tooLarge() };
      if (!reserve(next.value.byteLength)) {
        return {
          ok: false,
          response: failure(
            503,
            "ingestion_busy",
            "too many bytes of events are being received at once; retry",
            {},
            { "Retry-After": "1", Connection: "close" },
          ),
        };
      }
      chunks.push(next.value);
    }
  } catch {
    // The body's stream fails only when the connection does: the client hung
    // up (or its proxy did) mid-upload. Deno 2.9 throws a BadResource ("Cannot
    // read request body as underlying resource unavailable"), Bun 1.4 an
    // AbortError ("The connection was closed."; also when Bun's server itself
    // drops a connection for a malformed chunked encoding). Not the batch's
    // fault: counted as `aborted`, and nobody reads this answer.
    const response = failure(400, "body_incomplete", "the body ended before it was complete");
    ABORTED.add(response);
    return { ok: false, response };
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
  if (chunks.length === 1) return { ok: true, bytes: chunks[0] };
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}

/** A batch decoded and checked: its events, or the reasons it is not valid. */
type Batch =
  | { ok: true; events: CheckedEvent[] }
  | { ok: false; response: Response };

interface Bad {
  index: number;
  line?: number;
  reason: string;
}

function invalid(bad: Bad[], total: number): Response {
  return failure(
    400,
    "invalid_events",
    `${total} event${total === 1 ? " is" : "s are"} not valid; nothing was recorded`,
    {
      invalid_count: total,
      invalid: bad,
      ...(total > bad.length ? { truncated: true } : {}),
    },
  );
}

function syntax(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

function decodeBatch(text: string, format: Format, maxEvents: number): Batch {
  const tooMany = (n: string) =>
    failure(
      413,
      "batch_too_large",
      `the batch has ${n} events, more than the limit of ${maxEvents}`,
    );
  const events: CheckedEvent[] = [];
  const bad: Bad[] = [];
  let badCount = 0;
  const add = (index: number, event: unknown, line?: number) => {
    const checked = checkEvent(event);
    if (typeof checked !== "string") {
      events.push(checked);
      return;
    }
    badCount++;
    if (bad.length < MAX_LISTED) {
      bad.push(line === undefined ? { index, reason: checked } : { index, line, reason: checked });
    }
  };
  if (format === "json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return {
        ok: false,
        response: failure(400, "invalid_json", `the body is not valid JSON: ${syntax(error)}`),
      };
    }
    if (!Array.isArray(parsed)) {
      return {
        ok: false,
        response: failure(
          400,
          "invalid_json",
          "the body must be a JSON array of events (for one event per line, send " +
            "Content-Type: application/x-ndjson)",
        ),
      };
    }
    if (parsed.length > maxEvents) return { ok: false, response: tooMany(String(parsed.length)) };
    for (let i = 0; i < parsed.length; i++) add(i, parsed[i]);
  } else {
    let index = 0;
    let line = 0;
    for (let start = 0; start < text.length;) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      line++;
      const raw = text.slice(start, end).trim();
      start = end + 1;
      if (raw === "") continue;
      if (index === maxEvents) return { ok: false, response: tooMany(`more than ${maxEvents}`) };
      let event: unknown;
      try {
        event = JSON.parse(raw);
      } catch (error) {
        badCount++;
        if (bad.length < MAX_LISTED) {
          bad.push({ index, line, reason: `not valid JSON: ${syntax(error)}` });
        }
        index++;
        continue;
      }
      add(index++, event, line);
    }
  }
  if (badCount > 0) return { ok: false, response: invalid(bad, badCount) };
  return { ok: true, events };
}

/** The `Idempotency-Key` header's value, or a 400, or `undefined` when absent. */
function idempotencyKey(request: Request): string | Response | undefined {
  let key = request.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    return failure(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 visible ASCII characters (a UUID is a good key)",
    );
  }
  return key;
}

function accepted(values: Int32Array, replayed: boolean): Response {
  const counts: Record<string, number> = {};
  EVENT_KINDS.forEach((kind, i) => {
    if (values[1 + i] > 0) counts[kind] = values[1 + i];
  });
  const body = { accepted: values[0], counts, ...(replayed ? { replayed: true } : {}) };
  return new Response(JSON.stringify(body) + "\n", {
    status: 200,
    headers: replayed ? { ...JSON_TYPE, "Idempotent-Replayed": "true" } : JSON_TYPE,
  });
}

/**
 * The handler of `POST /api/v1/events`, recording into `tracking`'s
 * catalogue. Throws a `RangeError` for a limit that is not a positive
 * integer, a `TypeError` without tokens.
 *
 * @example
 * ```ts
 * import { Registry } from "../src/mod.ts";
 * import { createTracking } from "../src/tracking/mod.ts";
 * import { ingestHandler } from "./ingest.ts";
 * const tracking = createTracking(new Registry());
 * const ingest = ingestHandler(tracking, {
 *   tokens: [{ name: "fastapi", token: "0123456789abcdef0123" }],
 * });
 * const res = await ingest(new Request("http://localhost/api/v1/events", {
 *   method: "POST",
 *   headers: { Authorization: "Bearer 0123456789abcdef0123", "Content-Type": "application/json" },
 *   body: JSON.stringify([{ kind: "login" }]),
 * }));
 * console.log(await res.json()); // { accepted: 1, counts: { login: 1 } }
 * ```
 */
export function ingestHandler(
  tracking: Tracking,
  options: IngestOptions,
): (request: Request) => Promise<Response> {
  if (!Array.isArray(options.tokens) || options.tokens.length === 0) {
    throw new TypeError("ingestHandler: tokens must name at least one client");
  }
  const maxEvents = positive("maxEvents", options.maxEvents, INGEST_DEFAULTS.maxEvents);
  const maxBodyBytes = positive("maxBodyBytes", options.maxBodyBytes, INGEST_DEFAULTS.maxBodyBytes);
  const bodyTimeoutMs = positive(
    "bodyTimeoutMs",
    options.bodyTimeoutMs,
    INGEST_DEFAULTS.bodyTimeoutMs,
  );
  const keyTtlMs = positive("keyTtlMs", options.keyTtlMs, INGEST_DEFAULTS.keyTtlMs);
  const maxBytesInFlight = positive(
    "maxBytesInFlight",
    options.maxBytesInFlight,
    INGEST_DEFAULTS.maxBytesInFlight,
  );
  let inFlight = 0;
  const counters = options.registry &&
    ingestCounters(options.registry, options.tokens.map((t) => t.name));
  const store = options.store ?? createIngestStore();
  // The gateway's check of named keys: every token compared, in constant time.
  const authorize = clientKeyAuth(options.tokens);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

  return async (request) => {
    const deadline = Date.now() + bodyTimeoutMs;
    if (request.method !== "POST") {
      return failure(405, "method_not_allowed", `${INGEST_PATH} takes POST only`, {}, {
        Allow: "POST",
      });
    }
    const client = await authorize(request.headers.get("authorization"));
    if (client === undefined) {
      return failure(
        401,
        "unauthorized",
        "a valid ingestion token is required: Authorization: Bearer <token>",
        {},
        { "WWW-Authenticate": 'Bearer realm="ingest"' },
      );
    }
    const format = formatOf(request.headers.get("content-type"));
    if (format === undefined) {
      counters?.batches.inc({ client, outcome: "unsupported" });
      return failure(
        415,
        "unsupported_media_type",
        "Content-Type must be application/json (a JSON array of events) or " +
          "application/x-ndjson (one event per line), in UTF-8",
      );
    }
    const key = idempotencyKey(request);
    if (key instanceof Response) {
      counters?.batches.inc({ client, outcome: "invalid" });
      return key;
    }
    let held = 0;
    const reserve = (bytes: number): boolean => {
      if (inFlight + bytes > maxBytesInFlight) return false;
      inFlight += bytes;
      held += bytes;
      return true;
    };
    let response: Response | undefined;
    try {
      response = await receive(request, client, key, format, deadline, reserve);
      return response;
    } finally {
      inFlight -= held;
      if (counters !== undefined) {
        const status = response?.status ?? 500;
        const replayed = response?.headers.has("idempotent-replayed") ?? false;
        const outcome = replayed
          ? "replayed"
          : response !== undefined && ABORTED.has(response)
          ? "aborted"
          : OUTCOMES[status] ?? "error";
        counters.batches.inc({ client, outcome });
      }
    }
  };

  async function receive(
    request: Request,
    client: string,
    key: string | undefined,
    format: Format,
    deadline: number,
    reserve: (bytes: number) => boolean,
  ): Promise<Response> {
    const body = await readBody(request, maxBodyBytes, deadline, bodyTimeoutMs, reserve);
    if (!body.ok) return body.response;
    let text: string;
    try {
      text = decoder.decode(body.bytes);
    } catch {
      return failure(400, "invalid_utf8", "the body is not valid UTF-8");
    }

    let claim: { key: Int32Array; claim: number } | undefined;
    if (key !== undefined) {
      // Keys are per client: another client's key never answers for this one.
      const [keyPrint, bodyPrint] = await Promise.all([
        fingerprint(`${client}\0${key}`),
        fingerprint(body.bytes),
      ]);
      const found = store.begin(keyPrint, bodyPrint, Date.now());
      switch (found.state) {
        case "replay":
          return accepted(found.values, true);
        case "mismatch":
          return failure(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different body; use a new key for a new batch",
          );
        case "pending":
          return failure(
            409,
            "idempotency_key_in_flight",
            "a request with this Idempotency-Key is being recorded; retry after it ends",
            {},
            { "Retry-After": "1" },
          );
        case "busy":
          return failure(
            503,
            "idempotency_store_busy",
            "too many requests with keys are being recorded at once; retry",
            {},
            { "Retry-After": "1" },
          );
      }
      claim = { key: keyPrint, claim: found.claim };
    }
    // From the claim to its completion nothing awaits: a concurrent retry in
    // another thread sees it pending, never half recorded.
    let done = false;
    try {
      const batch = decodeBatch(text, format, maxEvents);
      if (!batch.ok) return batch.response;
      const values = new Int32Array(1 + EVENT_KINDS.length);
      recordEvents(tracking, batch.events, values.subarray(1));
      values[0] = batch.events.length;
      if (counters !== undefined) {
        EVENT_KINDS.forEach((kind, i) => {
          if (values[1 + i] > 0) counters.events.inc({ client, kind }, values[1 + i]);
        });
      }
      if (claim !== undefined) store.complete(claim.claim, claim.key, values, Date.now(), keyTtlMs);
      done = true;
      return accepted(values, false);
    } finally {
      if (claim !== undefined && !done) store.abandon(claim.claim, claim.key);
    }
  }
}

/**
 * The ingestion tokens `config` names: those of `INGEST_TOKENS`, or those of
 * the tokens file, read with `read` (e.g. `Deno.readTextFileSync`);
 * `undefined` when ingestion is off. Throws a `ConfigError` naming
 * the file (never a token) when it cannot be read or parsed, with the
 * permission to add when that is why.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * import { ingestTokens } from "./ingest.ts";
 * const config = parseConfig([], (name) =>
 *   name === "INGEST_TOKENS" ? "fastapi:0123456789abcdef0123" : undefined);
 * const tokens = ingestTokens(config, Deno.readTextFileSync);
 * console.log(tokens?.map((t) => t.name)); // ["fastapi"]
 * ```
 */
export function ingestTokens(
  config: Pick<ServerConfig, "ingestTokens" | "ingestTokensFile">,
  read: (path: string) => string,
): readonly ClientKey[] | undefined {
  const path = config.ingestTokensFile;
  if (path === undefined) return config.ingestTokens;
  const text = readSettingsFile(path, "the ingestion tokens file", read);
  return ingestTokenList(text, `ingestion tokens file ${path}`);
}

/**
 * A fast path for metering a streamed chat chunk without `JSON.parse`:
 * {@linkcode readContentChunk} recognizes the one shape OpenAI (and APIs
 * copying it) send for nearly every token, compact JSON with the keys in
 * OpenAI's order:
 *
 * ```json
 * {"id":"…","object":"chat.completion.chunk","created":1,"model":"…",
 *  ["service_tier":"…"|null,] ["system_fingerprint":"…"|null,]
 *  "choices":[{"index":0,"delta":{["role":"assistant",]"content":"…"[,"refusal":null]},
 *  ["logprobs":null,] "finish_reason":null}] [,"usage":null] [,"obfuscation":"…"]}
 * ```
 *
 * The pattern is anchored at both ends and its strings and numbers follow
 * JSON's grammar exactly (no raw control characters, `"` or lone `\`; only
 * JSON's escapes; no leading zeros), so whatever it matches is valid JSON
 * with exactly these keys: no `error`, no usage, one choice, no tool call,
 * no refusal. Escaped strings are decoded by `JSON.parse` of the string
 * alone. Anything else (other keys, whitespace, a usage chunk, tool calls)
 * is not matched, and the caller falls back to `JSON.parse` of the whole
 * chunk. `tests/app/gateway_chunk_test.ts` holds it against `JSON.parse`.
 *
 * @module
 */

/** A JSON string's contents (between its quotes). */
const S = String.raw`(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*`;
/** A JSON non-negative integer. */
const N = String.raw`(?:0|[1-9][0-9]*)`;

const CONTENT_CHUNK = new RegExp(
  String.raw`^\{"id":"${S}","object":"chat\.completion\.chunk","created":${N},"model":"(${S})"` +
    String.raw`(?:,"service_tier":(?:"${S}"|null))?(?:,"system_fingerprint":(?:"${S}"|null))?` +
    String.raw`,"choices":\[\{"index":${N},"delta":\{(?:"role":"assistant",)?"content":"(${S})"` +
    String.raw`(?:,"refusal":null)?\}(?:,"logprobs":null)?,"finish_reason":null\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":"${S}")?\}$`,
);

/** What a content chunk says: the model, and `choices[0].delta.content`. */
export interface ContentChunk {
  /** The chunk's `model`. */
  model: string;
  /** `choices[0].delta.content` (may be `""`). */
  content: string;
}

function unescape(raw: string): string {
  return raw.includes("\\") ? JSON.parse(`"${raw}"`) as string : raw;
}

/**
 * The model and content of `data` when it is a content chunk of the shape
 * above; `undefined` when it is anything else (then parse it whole).
 * `model` is decoded only when `withModel` (it is read until the first
 * token; `""` otherwise).
 */
export function readContentChunk(data: string, withModel: boolean): ContentChunk | undefined {
  const m = CONTENT_CHUNK.exec(data);
  if (m === null) return undefined;
  return { model: withModel ? unescape(m[1]) : "", content: unescape(m[2]) };
}

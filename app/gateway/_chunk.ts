/**
 * A fast path for metering a streamed chat chunk without `JSON.parse`:
 * {@linkcode ContentChunks} recognizes the one shape OpenAI (and APIs
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
 * chunk.
 *
 * Within one stream, consecutive content chunks differ only in their
 * content: `id`, `created`, `model` and the rest are repeated. So after a
 * chunk matched, the next is checked first against its text before and
 * after the content (two string comparisons), and only the content in
 * between is matched against JSON's string grammar; that is exact too: the
 * same text around another valid string is valid JSON of the same shape.
 * `tests/app/gateway_chunk_test.ts` holds both against `JSON.parse`.
 *
 * @module
 */

/** A JSON string's contents (between its quotes). */
const S = String.raw`(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*`;
/** A JSON non-negative integer. */
const N = String.raw`(?:0|[1-9][0-9]*)`;

const CONTENT_CHUNK = new RegExp(
  String.raw`^(\{"id":"${S}","object":"chat\.completion\.chunk","created":${N},"model":"(${S})"` +
    String.raw`(?:,"service_tier":(?:"${S}"|null))?(?:,"system_fingerprint":(?:"${S}"|null))?` +
    String.raw`,"choices":\[\{"index":${N},"delta":\{(?:"role":"assistant",)?"content":")(${S})` +
    String.raw`("(?:,"refusal":null)?\}(?:,"logprobs":null)?,"finish_reason":null\}\]` +
    String.raw`(?:,"usage":null)?(?:,"obfuscation":"${S}")?\})$`,
);

/** A JSON string's contents without escapes. */
// deno-lint-ignore no-control-regex -- JSON strings may not hold raw U+0000-U+001F
const PLAIN = /^[^"\\\x00-\x1f]*$/;
/** A JSON string's contents. */
const STRING = new RegExp(`^${S}$`);

function unescape(raw: string): string {
  return raw.includes("\\") ? JSON.parse(`"${raw}"`) as string : raw;
}

/**
 * Reads the content chunks of one stream (see the module comment).
 */
export class ContentChunks {
  /** The `model` of the last chunk {@linkcode ContentChunks.read} read. */
  model = "";
  /** The text of the last chunk read before its content, and after it. */
  #before = "";
  #after = "";

  /**
   * `choices[0].delta.content` of `data` (maybe `""`) when `data` is a
   * content chunk of the shape above; `undefined` when it is anything else
   * (then parse it whole).
   */
  read(data: string): string | undefined {
    const before = this.#before;
    const after = this.#after;
    if (
      // slice and ===, not startsWith and endsWith: several times faster on Deno 2.9.
      before !== "" && data.length >= before.length + after.length &&
      data.slice(0, before.length) === before && data.slice(data.length - after.length) === after
    ) {
      const raw = data.slice(before.length, data.length - after.length);
      if (PLAIN.test(raw)) return raw;
      if (STRING.test(raw)) return unescape(raw);
    }
    const m = CONTENT_CHUNK.exec(data);
    if (m === null) return undefined;
    this.#before = m[1];
    this.#after = m[4];
    this.model = unescape(m[2]);
    return unescape(m[3]);
  }
}

/**
 * The size on the wire of a body value that a framework will serialize after
 * the middleware has seen it (Oak's `ctx.response.body`, the value an Elysia
 * handler returns), for `http_response_size_bytes`. Private to `src/http/`.
 *
 * @module
 */

/**
 * The UTF-8 byte length of `text`, without encoding it. A lone surrogate
 * counts 3 bytes: it is sent as U+FFFD.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The bytes `body` is sent as, for the values web frameworks accept as a
 * body: nothing (0), strings (UTF-8), byte arrays, `Blob`s, numbers and
 * booleans (as text), `URLSearchParams`, and other objects (as JSON).
 * `undefined` for what cannot be known before it is sent: streams,
 * (async) iterables, functions, `FormData`, objects JSON cannot serialize.
 */
export function bodyBytes(body: unknown): number | undefined {
  if (body === null || body === undefined) return 0;
  switch (typeof body) {
    case "string":
      return utf8Length(body);
    case "number":
    case "boolean":
    case "bigint":
      return utf8Length(String(body));
    case "object":
      break;
    default:
      return undefined;
  }
  if (ArrayBuffer.isView(body)) return body.byteLength;
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (typeof Blob !== "undefined" && body instanceof Blob) return body.size;
  if (body instanceof URLSearchParams) return utf8Length(body.toString());
  if (
    body instanceof ReadableStream ||
    (typeof FormData !== "undefined" && body instanceof FormData) ||
    Symbol.asyncIterator in body ||
    (Symbol.iterator in body && !Array.isArray(body))
  ) {
    return undefined;
  }
  try {
    const json = JSON.stringify(body);
    return json === undefined ? 0 : utf8Length(json);
  } catch {
    return undefined; // a cycle, a BigInt inside: the framework will fail to send it too
  }
}

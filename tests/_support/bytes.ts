/** Byte helpers shared by the tests of stream parsers. */

/** `bytes` cut at the given offsets (ascending): the chunks a socket might deliver. */
export function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const o of [...offsets, bytes.length]) {
    out.push(bytes.slice(at, o));
    at = o;
  }
  return out;
}

/** The chunks `parts` joined into one array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

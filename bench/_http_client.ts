/**
 * A minimal HTTP/1.1 client over one keep-alive TCP connection, for
 * `http_overhead.ts`: its scrapes, and its load generator when `wrk` is not
 * installed.
 *
 * Why not `fetch`: it decompresses gzip bodies before we see them (so the
 * bytes a scraper really receives would be unknown, and the time would
 * include the client's inflating), and it costs several times more CPU per
 * request than this, CPU that the load generator takes from the server on a
 * 2-core machine. It speaks just enough HTTP for a `Deno.serve` server:
 * `GET`, `Content-Length` or chunked bodies, no pipelining.
 *
 * Run as the load generator: `deno run --allow-net=127.0.0.1
 * bench/_http_client.ts <port> <path> <connections> <seconds>`; it prints one
 * JSON line (`LoadResult`) when the time is up or on SIGINT.
 *
 * @module
 */

/** One response, as received. */
export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  /** The body as sent (still compressed when `Content-Encoding` says so). */
  body: Uint8Array;
  /** Bytes received for this response, head and framing included. */
  wireBytes: number;
}

/** What the load generator prints. */
export interface LoadResult {
  requests: number;
  seconds: number;
  /** Failed connections or responses that were not 200. */
  errors: number;
}

const CRLF_CRLF = [13, 10, 13, 10];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** One keep-alive connection to `127.0.0.1:port`. */
export class HttpConnection {
  readonly #conn: Deno.TcpConn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #received = 0;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Opens the connection. */
  static async open(port: number): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new HttpConnection(conn);
  }

  /** Sends `GET path` with `headers` and reads the whole response. */
  async get(path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    let head = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    await this.#writeAll(encoder.encode(head + "\r\n"));
    this.#received = 0;

    const headEnd = await this.#until(CRLF_CRLF);
    const lines = decoder.decode(this.#buf.subarray(this.#start, headEnd)).split("\r\n");
    this.#start = headEnd + 4;
    const status = Number(lines[0].split(" ")[1]);
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    let body: Uint8Array;
    if (fields.get("transfer-encoding")?.toLowerCase() === "chunked") {
      const parts: Uint8Array[] = [];
      for (;;) {
        const lineEnd = await this.#until([13, 10]);
        const size = parseInt(decoder.decode(this.#buf.subarray(this.#start, lineEnd)), 16);
        this.#start = lineEnd + 2;
        if (!(size >= 0)) throw new Error("bad chunk size");
        parts.push(await this.#take(size));
        await this.#take(2); // the CRLF after the chunk (after the trailers, for the last one)
        if (size === 0) break;
      }
      body = concat(parts);
    } else {
      body = await this.#take(Number(fields.get("content-length") ?? 0));
    }
    return { status, headers: fields, body, wireBytes: this.#received - (this.#end - this.#start) };
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Reads more bytes into the buffer (compacting or growing it first). */
  async #fill(): Promise<void> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("connection closed by the server");
    this.#end += n;
    this.#received += n;
  }

  /** Index (in the buffer) where `pattern` starts, reading until it arrives. */
  async #until(pattern: number[]): Promise<number> {
    let from = this.#start;
    for (;;) {
      outer: for (let i = from; i + pattern.length <= this.#end; i++) {
        for (let k = 0; k < pattern.length; k++) {
          if (this.#buf[i + k] !== pattern[k]) continue outer;
        }
        return i;
      }
      const scanned = Math.max(0, this.#end - this.#start - pattern.length + 1);
      await this.#fill();
      from = this.#start + scanned;
    }
  }

  /** The next `n` bytes (a copy). */
  async #take(n: number): Promise<Uint8Array> {
    while (this.#end - this.#start < n) await this.#fill();
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Keeps `connections` keep-alive connections busy with `GET path`, one
 * request at a time each, for `seconds` or until `signal` aborts.
 */
export async function load(
  port: number,
  path: string,
  connections: number,
  seconds: number,
  signal?: AbortSignal,
): Promise<LoadResult> {
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  let requests = 0;
  let errors = 0;
  const worker = async () => {
    let conn: HttpConnection | undefined;
    while (performance.now() < deadline && !signal?.aborted) {
      try {
        conn ??= await HttpConnection.open(port);
        const res = await conn.get(path);
        if (res.status === 200) requests++;
        else errors++;
      } catch {
        errors++;
        conn?.close();
        conn = undefined;
      }
    }
    conn?.close();
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { requests, seconds: (performance.now() - start) / 1000, errors };
}

if (import.meta.main) {
  const [port, path, connections, seconds] = Deno.args;
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  const result = await load(Number(port), path, Number(connections), Number(seconds), stop.signal);
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

/**
 * Starts the exporter (`main.ts --demo`) as a child process for
 * `deno task demo --start`, with exactly the permission flags of the `start`
 * task in deno.json, so the demo runs the server the way an operator would.
 *
 * Deno only (`Deno.Command`).
 *
 * @module
 */

/** The repository root (where deno.json and main.ts are). */
export const REPO_ROOT: URL = new URL("../", import.meta.url);

/** Removes `//` and `/* *\/` comments and trailing commas from JSONC, outside strings. */
export function stripJsonc(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SyntaxError("deno.json: unterminated /* comment");
      i = end + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

/**
 * The words of task `name` in deno.json between `deno run` and `script`
 * (its permission flags). Throws an Error when the task is missing or is
 * not of the form `deno run <flags> <script>`.
 *
 * @example
 * ```ts
 * import { taskFlags } from "./server.ts";
 * const json = '{ "tasks": { "start": "deno run --allow-net main.ts" } }';
 * console.log(taskFlags(json, "start", "main.ts")); // ["--allow-net"]
 * ```
 */
export function taskFlags(denoJson: string, name: string, script: string): string[] {
  const config = JSON.parse(stripJsonc(denoJson)) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const task = config.tasks?.[name];
  const command = typeof task === "string" ? task : task?.command;
  if (command === undefined) throw new Error(`deno.json has no "${name}" task`);
  const words = command.trim().split(/\s+/);
  const at = words.indexOf(script);
  if (words[0] !== "deno" || words[1] !== "run" || at < 2) {
    throw new Error(`the "${name}" task is not "deno run <flags> ${script}": ${command}`);
  }
  return words.slice(2, at);
}

/** A running `main.ts --demo`. */
export interface DemoServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The last 64 KiB the server wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  close(): Promise<void>;
}

/** Options of {@linkcode startDemoServer}. */
export interface DemoServerOptions {
  /** Port to listen on (default 0: a free one). */
  port?: number;
  /** `LLM_BASE_URL`, `LLM_MODEL` and `LLM_API_KEY` for the server. */
  llm: { baseUrl: string; model: string; apiKey: string };
  /** Copies the server's output to stderr as it comes. */
  verbose?: boolean;
}

/**
 * Starts `deno run <start-task flags> main.ts --demo` on 127.0.0.1 and waits
 * for its "listening on" line. The child is `deno` from PATH, which is what
 * `--allow-run=deno` in the demo task permits.
 *
 * @example
 * ```ts ignore
 * import { startDemoServer } from "./server.ts";
 * const server = await startDemoServer({
 *   llm: { baseUrl: "http://127.0.0.1:9/v1", model: "gpt-4o-mini", apiKey: "sk-fake" },
 * });
 * await server.close();
 * ```
 */
export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const flags = taskFlags(
    await Deno.readTextFile(new URL("deno.json", REPO_ROOT)),
    "start",
    "main.ts",
  );
  const child = new Deno.Command("deno", {
    args: [
      "run",
      ...flags,
      "main.ts",
      "--demo",
      "--hostname",
      "127.0.0.1",
      "--port",
      String(options.port ?? 0),
    ],
    cwd: REPO_ROOT,
    env: {
      LLM_BASE_URL: options.llm.baseUrl,
      LLM_MODEL: options.llm.model,
      LLM_API_KEY: options.llm.apiKey,
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let output = "";
  let running = true;
  let listening: ((url: string) => void) | undefined;
  const url = new Promise<string>((resolve) => listening = resolve);
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output = (output + chunk).slice(-65536);
      if (options.verbose) {
        for (const line of chunk.split("\n")) if (line !== "") console.error(`  server | ${line}`);
      }
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (m !== null) listening?.(m[1]);
    }
  };
  const exited = Promise.all([child.status, drain(child.stdout), drain(child.stderr)]).then(
    ([status]) => {
      running = false;
      return status;
    },
  );

  const close = async () => {
    if (running) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
          resolve();
        }, 5000);
      });
      await Promise.race([exited, killed]);
      clearTimeout(timer);
    }
    await exited;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("main.ts printed no listening line in 30 s")),
      30_000,
    );
    exited.then((status) =>
      reject(new Error(`main.ts exited (code ${status.code}) before listening:\n${output}`))
    );
  });
  try {
    return { url: await Promise.race([url, failed]), output: () => output, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
    failed.catch(() => {});
  }
}

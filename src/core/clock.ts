/**
 * Clocks: a cheap coarse wall clock for hot paths, and timers.
 *
 * `Date.now()` costs about 100 ns in Deno 2.9 (measured here with
 * `deno bench`), more than everything else a Summary observation does. The
 * coarse clock is a variable refreshed every 100 ms by an unref'd interval
 * that runs only while observations arrive: it stops itself after an idle
 * tick, and the next read restarts it with a fresh reading, so a value read
 * is never more than one tick old.
 *
 * @module
 */

const TICK_MS = 100;
let now = 0;
let used = false;
let timer: unknown;

function tick(): void {
  now = Date.now();
  if (!used) {
    clearInterval(timer as number);
    timer = undefined;
  }
  used = false;
}

/** Lets a timer not keep the process alive, in Deno, Bun and Node alike. */
export function unrefTimer(t: unknown): void {
  if (typeof t === "object" && t !== null && "unref" in t) {
    (t as { unref(): void }).unref();
  } else if (typeof t === "number") {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(t);
  }
}

/** Milliseconds since the epoch, at most one tick (100 ms) old. */
export function coarseNow(): number {
  used = true;
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(tick, TICK_MS);
    unrefTimer(timer);
  }
  return now;
}

/**
 * A running timer: call it (or dispose it, with `using`) to stop it and
 * record the elapsed seconds. Only the first stop records.
 */
export interface Timer extends Disposable {
  /** Stops the timer, records the elapsed seconds (once) and returns them. */
  (labels?: Readonly<Record<string, string | number>>): number;
}

/** Starts a {@linkcode Timer} that hands the elapsed seconds and any extra labels to `record`. */
export function startTimer(
  record: (seconds: number, labels?: Readonly<Record<string, string | number>>) => void,
): Timer {
  const start = performance.now();
  let stopped = -1;
  const stop = (labels?: Readonly<Record<string, string | number>>): number => {
    if (stopped >= 0) return stopped;
    stopped = (performance.now() - start) / 1000;
    record(stopped, labels);
    return stopped;
  };
  return Object.assign(stop, { [Symbol.dispose]: () => void stop() });
}

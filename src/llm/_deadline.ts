/**
 * The deadline of one LLM call. Private to `src/llm/`.
 *
 * @module
 */

/**
 * Cancels a call on timeout or on the caller's signal, and remembers which
 * one it was. For streams the timer is paused while the consumer holds a
 * chunk ({@linkcode Deadline.pause}, then {@linkcode Deadline.start} before
 * the next read), so a slow consumer is not mistaken for a slow API.
 */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #ms: number;
  readonly #caller: AbortSignal | undefined;
  readonly #onAbort = (): void => {
    this.callerAborted = true;
    this.#controller.abort();
  };
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the timer fired. */
  timedOut = false;
  /** Whether the caller's signal fired. */
  callerAborted = false;

  /** Starts the timer of `ms` milliseconds, and follows `caller` (already aborted: at once). */
  constructor(ms: number, caller: AbortSignal | undefined) {
    this.#ms = ms;
    this.#caller = caller;
    if (caller?.aborted) this.#onAbort();
    else caller?.addEventListener("abort", this.#onAbort, { once: true });
    this.start();
  }

  /** The signal to give `fetch`: aborts on timeout or when the caller's signal does. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** (Re)starts the timer for a full `ms`. */
  start(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort();
    }, this.#ms);
  }

  /** Stops the timer until the next {@linkcode Deadline.start}. */
  pause(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer and stops following the caller's signal. */
  dispose(): void {
    this.pause();
    this.#caller?.removeEventListener("abort", this.#onAbort);
  }
}

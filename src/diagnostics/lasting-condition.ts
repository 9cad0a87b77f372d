/**
 * A condition that may last (the store unreachable, Galileo refusing the configuration): one line
 * when it starts, then at most one per interval while it lasts, saying how often it happened
 * since, and one line when it ends. Enough to be noticed, never a line per request.
 */
export interface LastingConditionLog {
  /** Start: `occurrences` 1. While it lasts: called at most once per interval. */
  report(fields: { occurrences: number; sinceMs: number }): void;
  /** Called once when the condition is over. */
  recovered(fields: { durationMs: number; occurrences: number }): void;
}

export class LastingCondition {
  #since: number | undefined;
  #lastOccurred = 0;
  #lastReported = 0;
  #occurrences = 0;
  #unreported = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly log: LastingConditionLog,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.#since !== undefined;
  }

  /** When it last occurred (its clock's ms; 0 before the first time). */
  get lastOccurredAt(): number {
    return this.#lastOccurred;
  }

  occurred(): void {
    const now = this.now();
    this.#lastOccurred = now;
    this.#occurrences += 1;
    this.#unreported += 1;
    if (this.#since === undefined) this.#since = now;
    else if (now - this.#lastReported < this.intervalMs) return;
    this.log.report({ occurrences: this.#unreported, sinceMs: now - this.#since });
    this.#lastReported = now;
    this.#unreported = 0;
  }

  resolved(): void {
    if (this.#since === undefined) return;
    this.log.recovered({ durationMs: this.now() - this.#since, occurrences: this.#occurrences });
    this.#since = undefined;
    this.#occurrences = 0;
    this.#unreported = 0;
  }
}

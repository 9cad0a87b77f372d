/**
 * The circuit breaker on Galileo (docs/contract.md, Traffic protection), on cockatiel's: after
 * `failures` consecutive failed attempts (what `failed` says of an attempt: edge errors without an
 * envelope, timeouts, connection errors; any Galileo envelope is a success) it opens for `openMs`,
 * and every new request is refused at once; then one trial request goes through, and its outcome
 * closes the breaker or opens it again. Each replica has its own: a breaker shared through Redis
 * would make the store a dependency of talking to Galileo at all.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhenResult, type CircuitBreakerPolicy } from 'cockatiel';

export type CircuitStateName = 'closed' | 'open' | 'half_open';

/** What a refused attempt returns instead of running. */
export const CIRCUIT_OPEN = Symbol('circuit open');

export interface GalileoCircuit {
  /** How long new requests are still refused: 0 when the breaker is closed or due for its trial. */
  refusingForMs(): number;
  /** Runs one attempt through the breaker, or returns CIRCUIT_OPEN without running it. */
  run<T>(attempt: () => Promise<T>, failed: (result: T) => boolean): Promise<T | typeof CIRCUIT_OPEN>;
}

const NAMES: Record<number, CircuitStateName> = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half_open' };

export function createGalileoCircuit(options: {
  failures: number;
  openMs: number;
  /** Each transition, for the gauge and one log line. */
  onStateChange: (state: CircuitStateName, gaugeValue: number) => void;
}): GalileoCircuit {
  const policy: CircuitBreakerPolicy = circuitBreaker(
    handleWhenResult((r) => (r as Outcome<unknown>).failed),
    { halfOpenAfter: options.openMs, breaker: new ConsecutiveBreaker(options.failures) },
  );
  let openedAt = 0;
  policy.onStateChange((state) => {
    if (state === CircuitState.Open) openedAt = Date.now();
    options.onStateChange(NAMES[state] ?? 'open', state === CircuitState.Isolated ? CircuitState.Open : state);
  });
  return {
    refusingForMs() {
      if (policy.state === CircuitState.HalfOpen) return 1000; // its trial is running: the others wait outside
      if (policy.state !== CircuitState.Open) return 0;
      return Math.max(0, openedAt + options.openMs - Date.now());
    },
    async run(attempt, failed) {
      try {
        const outcome = (await policy.execute(async () => {
          const result = await attempt();
          return { result, failed: failed(result) };
        })) as Outcome<Awaited<ReturnType<typeof attempt>>>;
        return outcome.result;
      } catch (err) {
        if (err instanceof BrokenCircuitError) return CIRCUIT_OPEN;
        throw err;
      }
    },
  };
}

interface Outcome<T> {
  result: T;
  failed: boolean;
}

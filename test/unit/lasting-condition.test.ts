/** A lasting problem is logged when it starts, at most once per interval while it lasts, and once when it ends. */
import assert from 'node:assert/strict';
import { LastingCondition } from '../../src/diagnostics/lasting-condition.js';

describe('LastingCondition', () => {
  it('first occurrence at once, repeats bounded by the interval with the count since, one recovery line', () => {
    let now = 1_000;
    const lines: string[] = [];
    const problem = new LastingCondition(
      100,
      {
        report: ({ occurrences, sinceMs }) => lines.push(`report ${occurrences} ${sinceMs}`),
        recovered: ({ durationMs, occurrences }) => lines.push(`recovered ${durationMs} ${occurrences}`),
      },
      () => now,
    );
    problem.resolved(); // nothing to end
    for (let t = 0; t < 250; t += 10) {
      now = 1_000 + t;
      problem.occurred();
    }
    assert.ok(problem.active);
    now = 1_300;
    problem.resolved();
    problem.resolved();
    assert.deepEqual(lines, ['report 1 0', 'report 10 100', 'report 10 200', 'recovered 300 25']);
    assert.ok(!problem.active);

    now = 2_000;
    problem.occurred();
    assert.equal(lines.at(-1), 'report 1 0', 'a new problem starts afresh');
  });
});

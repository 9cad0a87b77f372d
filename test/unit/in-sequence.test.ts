/** inSequence: an operation's steps as one handler, with Express's rules for going on and stopping. */
import assert from 'node:assert/strict';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { inSequence } from '../../src/http/in-sequence.js';

/** Runs the handler and resolves with what reached the final `next` (undefined: every step went on). */
function run(handler: RequestHandler): Promise<{ err: unknown }> {
  return new Promise((resolve) => {
    const next: NextFunction = (err?: unknown) => resolve({ err });
    void handler({} as Request, {} as Response, next);
  });
}

describe('inSequence', () => {
  it('runs every step in order, each after the previous one called next, sync or async', async () => {
    const order: number[] = [];
    const handler = inSequence([
      (_req, _res, next) => {
        order.push(1);
        next();
      },
      async (_req, _res, next) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(2);
        next();
      },
      (_req, _res, next) => {
        order.push(3);
        next();
      },
    ]);
    assert.deepEqual(await run(handler), { err: undefined });
    assert.deepEqual(order, [1, 2, 3]);
  });

  it('stops at a step that answers without calling next', async () => {
    const later: string[] = [];
    const handler = inSequence([
      () => {},
      () => {
        later.push('ran');
      },
    ]);
    const settled = await Promise.race([run(handler), new Promise((resolve) => setTimeout(() => resolve('pending'), 50))]);
    assert.equal(settled, 'pending');
    assert.deepEqual(later, []);
  });

  it('hands a thrown error, a rejected promise or next(err) on, and runs nothing after it', async () => {
    const boom = new Error('boom');
    const failures: RequestHandler[] = [
      () => {
        throw boom;
      },
      async () => {
        throw boom;
      },
      (_req, _res, next) => next(boom),
    ];
    for (const failure of failures) {
      let after = false;
      const outcome = await run(
        inSequence([
          failure,
          () => {
            after = true;
          },
        ]),
      );
      assert.equal(outcome.err, boom);
      assert.equal(after, false);
    }
  });

  it('a promise rejected without a reason is still an error', async () => {
    const outcome = await run(inSequence([() => Promise.reject(undefined)]));
    assert.ok(outcome.err instanceof Error);
  });
});

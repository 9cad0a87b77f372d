/** The bulkhead's log: one line when it starts refusing, one when it stops, however long it stays full. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type { Request, Response } from 'express';
import pino from 'pino';
import { createContext } from '../../src/http/context.js';
import { holdUpstreamSlot } from '../../src/http/upstream-slots.js';
import { createMetrics } from '../../src/metrics.js';

describe('the bulkhead (holdUpstreamSlot)', () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        callback();
      },
    }),
  );
  const responses: EventEmitter[] = [];
  /** Runs the step for a new request: 'admitted' (its slot is held until `finish`) or 'refused'. */
  const arrive = (step: ReturnType<typeof holdUpstreamSlot>): 'admitted' | 'refused' => {
    const res = new EventEmitter();
    createContext(res as unknown as Response, `r${responses.length}`);
    try {
      void step({} as Request, res as unknown as Response, () => undefined);
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'upstream_busy');
      return 'refused';
    }
    responses.push(res);
    return 'admitted';
  };
  /** The oldest call in flight is answered; its slot comes back a few turns later. */
  const finish = async () => {
    responses.shift()!.emit('close');
    await new Promise((resolve) => setImmediate(resolve));
  };
  const messages = () => lines.map((l) => `${String(l.msg)} ${String(l.refused)}`);

  beforeEach(() => {
    lines.length = 0;
    responses.length = 0;
  });

  it('full for a while (each slot given back is taken and the next caller refused): one start line, one stop line', async () => {
    const step = holdUpstreamSlot({ maxInFlight: 2, metrics: createMetrics(), logger, repeatLogIntervalMs: 60_000 });
    assert.equal(arrive(step), 'admitted');
    assert.equal(arrive(step), 'admitted');
    for (let i = 0; i < 5; i++) {
      assert.equal(arrive(step), 'refused');
      await finish();
      assert.equal(arrive(step), 'admitted');
    }
    assert.deepEqual(messages(), ['bulkhead refusing requests 1']);
    await finish(); // nobody refused since the last slot came back: over
    assert.deepEqual(messages(), ['bulkhead refusing requests 1', 'bulkhead no longer refusing 5']);
    await finish();
    assert.equal(arrive(step), 'admitted');
    assert.equal(lines.length, 2, 'an idle bulkhead logs nothing');
  });

  it('a bound of one: the stop line comes when nothing is in flight, with no caller after it', async () => {
    const step = holdUpstreamSlot({ maxInFlight: 1, metrics: createMetrics(), logger, repeatLogIntervalMs: 60_000 });
    assert.equal(arrive(step), 'admitted');
    assert.equal(arrive(step), 'refused');
    assert.equal(arrive(step), 'refused');
    await finish();
    assert.deepEqual(messages(), ['bulkhead refusing requests 1', 'bulkhead no longer refusing 2']);
  });
});

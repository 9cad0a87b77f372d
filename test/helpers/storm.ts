/**
 * A duplicate storm across gateway replicas: `copies` identical requests at once, round-robin over
 * `urls`, Galileo slowed so they overlap. Asserts what the contract promises: Galileo is called
 * once, one caller gets the original answer, every other copy a 409 or a byte-identical replay,
 * and afterwards every replica replays it.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { pathOf } from '../../scripts/lib/examples.js';
import type { Simulator } from './harness.js';

export async function assertStormReachesGalileoOnce(sim: Simulator, urls: string[], body: { transactionId: string }, copies: number): Promise<void> {
  const received = () => sim.requests().filter((r) => r.params.transactionId === body.transactionId).length;
  sim.addFault({ fault: { type: 'latency', ms: 200 }, match: { transactionId: body.transactionId } });
  const responses = await Promise.all(
    Array.from({ length: copies }, (_, i) =>
      request(urls[i % urls.length]!)
        .post(pathOf('createAccount'))
        .send(body),
    ),
  );
  assert.equal(received(), 1);
  const original = responses.filter((r) => r.status === 200 && r.headers['idempotent-replayed'] === undefined);
  assert.equal(original.length, 1);
  for (const r of responses) {
    assert.ok(r.status === 409 || r.status === 200, `${r.status} ${r.text}`);
    if (r.status === 200) assert.equal(r.text, original[0]!.text, 'a replay differs from the original');
  }
  for (const url of urls) {
    const again = await request(url).post(pathOf('createAccount')).send(body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, original[0]!.text);
  }
  assert.equal(received(), 1);
}

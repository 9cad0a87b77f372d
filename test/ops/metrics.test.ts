/**
 * /metrics (docs/contract.md, Logs and metrics): the counters move as requests are made, and every
 * label value belongs to a closed set (no transactionId, account number or caller text ever becomes
 * a label).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { gatewaySuite, txId, uniqueSsn } from '../helpers/harness.js';
import { metricValue, openLabelValues, parseMetrics } from '../helpers/metrics-text.js';

describe('ops: metrics', () => {
  const suite = gatewaySuite({ GALILEO_TIMEOUT_MS: '300', GALILEO_MAX_RETRIES: '0' });

  const scrape = async () => {
    const res = await request(suite.gw.url).get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    return res.text;
  };
  const accountBody = () => ({ ...exampleBody('createAccount'), transactionId: txId('metrics'), id: uniqueSsn(), id2: `${uniqueSsn()}|ut|12-25-2030` });
  const delta = (before: string, after: string, name: string, labels: Record<string, string>) =>
    metricValue(after, name, labels) - metricValue(before, name, labels);

  it('declares the gateway metrics and the default process metrics', async () => {
    const text = await scrape();
    for (const name of [
      'gateway_requests_total',
      'gateway_in_flight_requests',
      'gateway_upstream_duration_seconds',
      'gateway_idempotency_outcomes_total',
      'gateway_idempotency_store_errors_total',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} missing`);
    }
    // The scrape itself is in flight while the registry is rendered.
    assert.equal(metricValue(text, 'gateway_in_flight_requests'), 1);
  });

  it('a forwarded call, a replay, a 422, a validation failure, a timeout and a 404 each move their counters', async () => {
    const before = await scrape();
    const body = accountBody();
    assert.equal((await request(suite.gw.url).post(pathOf('createAccount')).send(body)).status, 200);
    assert.equal((await request(suite.gw.url).post(pathOf('createAccount')).send(body)).status, 200); // replay
    assert.equal(
      (
        await request(suite.gw.url)
          .post(pathOf('createAccount'))
          .send({ ...body, firstName: 'Other' })
      ).status,
      422,
    );
    assert.equal(
      (
        await request(suite.gw.url)
          .post(pathOf('createAccount'))
          .send({ ...body, prodId: 'x' })
      ).status,
      400,
    );
    const slow = accountBody();
    suite.sim.addFault({ fault: { type: 'latency', ms: 900 }, match: { transactionId: slow.transactionId } });
    assert.equal((await request(suite.gw.url).post(pathOf('createAccount')).send(slow)).status, 504);
    assert.equal((await request(suite.gw.url).post('/intserv/4.0/4111111111111111').send({})).status, 404);
    const after = await scrape();

    const requests = (status: string, operation = 'createAccount') => delta(before, after, 'gateway_requests_total', { operation, status });
    assert.equal(requests('200'), 2);
    assert.equal(requests('422'), 1);
    assert.equal(requests('400'), 1);
    assert.equal(requests('504'), 1);
    assert.equal(requests('404', 'none'), 1);
    // The first scrape counted itself once it finished.
    assert.equal(requests('200', 'none'), 1);

    const outcomes = (outcome: string) => delta(before, after, 'gateway_idempotency_outcomes_total', { operation: 'createAccount', outcome });
    assert.deepEqual([outcomes('forwarded'), outcomes('replayed'), outcomes('key_reused')], [2, 1, 1]);

    const upstream = (outcome: string) => delta(before, after, 'gateway_upstream_duration_seconds_count', { operation: 'createAccount', outcome });
    assert.equal(upstream('galileo'), 1, 'the replay and the refusals never reached Galileo');
    assert.equal(upstream('upstream_timeout'), 1);
    // The timeout's observation is in seconds: above the bucket below the 0.3 s timeout.
    const slowBuckets = (le: string) =>
      delta(before, after, 'gateway_upstream_duration_seconds_bucket', { operation: 'createAccount', outcome: 'upstream_timeout', le });
    assert.deepEqual([slowBuckets('0.25'), slowBuckets('+Inf')], [0, 1]);
  });

  it('label values are closed sets: no transactionId, account number or caller text', async () => {
    const transactionId = txId('label-probe');
    await request(suite.gw.url)
      .post(pathOf('createIvrCall'))
      .send({ ...exampleBody('createIvrCall'), transactionId, accountNo: '4111111111111111' });
    await request(suite.gw.url).post(`/intserv/4.0/${transactionId}`).send({});
    await request(suite.gw.url).get('/metrics?operation=evil').set('x-request-id', 'evil-label');
    const text = await scrape();
    assert.deepEqual(openLabelValues(text), []);
    assert.ok(parseMetrics(text).some((s) => s.name === 'gateway_requests_total' && s.labels.operation === 'createIvrCall'));
    for (const caller of [transactionId, '4111111111111111', 'evil']) assert.ok(!text.includes(caller), `${caller} is in /metrics`);
  });
});

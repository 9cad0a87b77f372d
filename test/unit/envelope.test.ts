/** Reading Galileo's envelope: the status code, and rtoken / processing_time for the log only from the envelope itself. */
import assert from 'node:assert/strict';
import { readEnvelope } from '../../src/galileo/envelope.js';

const RTOKEN = '8cc16de0-5eda-4e2a-968e-3b08fce6f778';

describe('Galileo envelope', () => {
  it('JSON: status code, rtoken and processing_time', () => {
    const body = JSON.stringify({ status_code: '407-11', status: 'x', processing_time: 0.298, response_data: [], rtoken: RTOKEN });
    assert.deepEqual(readEnvelope('application/json', body), { statusCode: '407-11', rtoken: RTOKEN, processingTime: 0.298 });
  });

  it('XML: the same fields; numeric codes become numbers', () => {
    const body = `<?xml version="1.0"?><response><status_code>0</status_code><processing_time>0.113</processing_time><response_data/><rtoken>${RTOKEN}</rtoken></response>`;
    assert.deepEqual(readEnvelope('application/xml; charset=utf-8', body), { statusCode: 0, rtoken: RTOKEN, processingTime: 0.113 });
  });

  it('not an envelope: no status_code, not an object, not a <response>', () => {
    for (const [type, body] of [
      ['application/json', '{"status":"Success"}'],
      ['application/json', '[{"status_code":0}]'],
      ['application/json', '<html>502</html>'],
      ['application/xml', '<html><status_code>0</status_code></html>'],
      ['text/html', '{"status_code":""}'],
    ] as const) {
      assert.equal(readEnvelope(type, body), undefined, body);
    }
  });

  it('rtoken and processing_time only from the top level of a JSON envelope, and only when they look right', () => {
    const nested = JSON.stringify({ status_code: 0, response_data: { rtoken: RTOKEN, processing_time: 1 }, echo: { rtoken: RTOKEN } });
    assert.deepEqual(readEnvelope('application/json', nested), { statusCode: 0, rtoken: undefined, processingTime: undefined });
    for (const rtoken of ['4111111111111111', '4111-1111-1111-1111x', 'a b', '', 'x'.repeat(65), 42, null]) {
      const body = JSON.stringify({ status_code: 0, rtoken, processing_time: '0.3' });
      assert.deepEqual(readEnvelope('application/json', body), { statusCode: 0, rtoken: undefined, processingTime: undefined }, String(rtoken));
    }
    for (const time of [-1, Number.MAX_VALUE * 10, '1']) {
      assert.equal(readEnvelope('application/json', `{"status_code":0,"processing_time":${JSON.stringify(time)}}`)?.processingTime, undefined);
    }
    // Not a UUID but id-shaped and without nine digits in a row: kept.
    assert.equal(readEnvelope('application/json', '{"status_code":0,"rtoken":"RT-2026-11-30-abc"}')?.rtoken, 'RT-2026-11-30-abc');
  });
});

/**
 * What is kept for replay never holds card data: each way the review got a card number past the
 * old regular expressions, and the last line (a Luhn-valid number anywhere withholds the answer).
 */
import assert from 'node:assert/strict';
import { storableBody } from '../../src/galileo/pci.js';
import { loadGatewaySpec } from '../../src/spec.js';

const storable = storableBody(loadGatewaySpec().pciFields);
const PAN = '4111111111111111';
const json = (account: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    status_code: 0,
    status: 'Success',
    processing_time: 0.3,
    response_data: [{ pmt_ref_no: '074100000001', card_number: '487093XXXXXX1264', expiry_date: null, card_security_code: null, ...account }],
    echo: { provider_transaction_id: '', provider_timestamp: null, transaction_id: 't-1' },
    rtoken: '8cc16de0-5eda-4e2a-968e-3b08fce6f778',
    system_timestamp: '2026-11-30 10:36:54',
    ...extra,
  });
const xml = (account: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<response><status_code>0</status_code><status>Success</status><response_data><new_account><pmt_ref_no>074100000001</pmt_ref_no>${account}</new_account></response_data><rtoken>8cc16de0-5eda-4e2a-968e-3b08fce6f778</rtoken><system_timestamp>2026-11-30 10:36:54</system_timestamp></response>`;

const keptJson = (body: string) => {
  const kept = storable('application/json', body);
  assert.equal(kept.kind, 'response', JSON.stringify(kept));
  return JSON.parse((kept as { body: string }).body).response_data[0] as Record<string, unknown>;
};
const keptXml = (body: string) => {
  const kept = storable('application/xml', body);
  assert.equal(kept.kind, 'response', JSON.stringify(kept));
  return (kept as { body: string }).body;
};

describe('what is kept for replay', () => {
  it('a masked card number is kept; the answer is kept byte for byte when nothing is removed', () => {
    const body = json({});
    assert.deepEqual(storable('application/json', body), { kind: 'response', body });
    const x = xml('<card_number>487093XXXXXX1264</card_number><expiry_date/>');
    assert.deepEqual(storable('application/xml', x), { kind: 'response', body: x });
  });

  it('JSON: a card number with spaces, dashes or dots is not "masked": null; expiry and CVV always null', () => {
    for (const card of [PAN, '4111 1111 1111 1111', '4111-1111-1111-1111', '4111.1111.1111.1111', 4111111111111111]) {
      const data = keptJson(json({ card_number: card, expiry_date: '2029-11-30', card_security_code: '123' }));
      assert.deepEqual([data.card_number, data.expiry_date, data.card_security_code], [null, null, null], String(card));
    }
    // Whitespace or case in the key does not hide the field either.
    const data = keptJson(json({ ' Card_Number ': PAN }));
    assert.equal(data[' Card_Number '], null);
  });

  it('XML: attributes, CDATA, character references, whitespace and case in tags', () => {
    const cases = [
      `<card_number>${PAN}</card_number>`,
      `<card_number><![CDATA[${PAN}]]></card_number>`,
      `<card_number >4111 1111 1111 1111</card_number >`,
      `<CARD_NUMBER>${PAN}</CARD_NUMBER>`,
      `<card_number>&#52;&#49;&#x31;&#x31;111111111111</card_number>`,
      `<card_number type="pan">${PAN}</card_number>`,
    ];
    for (const account of cases) {
      const body = keptXml(xml(`${account}<expiry_date>2029-11-30</expiry_date><card_security_code>123</card_security_code>`));
      assert.ok(!body.replace(/[^0-9]/g, '').includes('41111111'), `${account} -> ${body}`);
      assert.ok(!/2029-11-30|>123</.test(body), body);
      assert.match(body, /<pmt_ref_no>074100000001<\/pmt_ref_no>/);
    }
  });

  it('the last line: a card number anywhere else withholds the whole answer', () => {
    const withheld = [
      ['application/json', json({}, { echo: { provider_transaction_id: '4111 1111 1111 1111', provider_timestamp: null, transaction_id: 't' } })],
      ['application/json', json({ emboss_line_2: `card ${PAN}` })],
      ['application/xml', xml(`<card_number>487093XXXXXX1264</card_number><note a="${PAN}"/>`)],
      ['application/xml', xml(`<emboss_line_2><![CDATA[4111-1111-1111-1111]]></emboss_line_2>`)],
      ['application/xml', xml(`<emboss_line_2>&#52;111_1111_1111_1111</emboss_line_2>`)],
      ['application/xml', `<!DOCTYPE r [<!ENTITY p "${PAN}">]>${xml('<x>&p;</x>')}`],
      ['application/xml', '<response><status_code>0</status_code><unclosed>'],
    ] as const;
    for (const [type, body] of withheld) assert.equal(storable(type, body).kind, 'withheld', body);
  });

  it('no false alarm on what Galileo always sends: timestamps, UUIDs, PRNs, amounts', () => {
    // 2026-11-30 10:36:54 is 14 digits, Luhn-valid or not; it is a timestamp.
    for (const timestamp of ['2026-11-30 10:36:54', '2026-12-31 23:59:58', '2027-01-01 00:00:00']) {
      assert.equal(storable('application/json', json({}, { system_timestamp: timestamp })).kind, 'response', timestamp);
    }
    assert.equal(storable('application/json', json({ galileo_account_number: '1000000001', card_id: '10001', billing_cycle_day: 15 })).kind, 'response');
    // A UUID whose digits line up across its dashes into a Luhn-valid 16 (4111 1111 1111 1111).
    assert.equal(storable('application/json', json({ new_emboss_uuid: 'a4111111-1111-1111-1111-bcdefabcdefa' })).kind, 'response');
  });

  // Review 3, finding 7: only what was scanned is kept, the scan has caps, and a failed scan withholds.
  it('only the bytes that were scanned are kept: duplicated members, split numbers, hidden markup', () => {
    const withheld = [
      // The parsed copy keeps the last member, the raw bytes keep both.
      ['application/json', json({}).replace('"status":"Success"', `"emboss_line_2":"${PAN}","emboss_line_2":"x","status":"Success"`)],
      ['application/json', json({}).replace('"card_security_code":null', '"card_security_code":"123","card_security_code":null')],
      // A 19-digit number is not a double: read as written.
      ['application/json', json({}, { ref: 'N' }).replace('"N"', '4111111111111111110')],
      // Inside a longer run, in another script, with long separator runs.
      ['application/json', json({ emboss_line_2: `${PAN}-01` })],
      ['application/json', json({ emboss_line_2: '4111-1111-1111-1111/2026-12-03' })],
      ['application/json', json({ emboss_line_2: '\u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661' })],
      ['application/json', json({ emboss_line_2: '４１１１１１１１１１１１１１１１' })],
      ['application/json', json({ emboss_line_2: '4111 -- 1111 -- 1111 -- 1111' })],
      ['application/xml', xml('<emboss_line_2>4111<!-- x -->1111<!-- x -->1111<!-- x -->1111</emboss_line_2>')],
      ['application/xml', xml('<emboss_line_2>41111111<![CDATA[11111111]]></emboss_line_2>')],
      ['application/xml', xml(`<emboss_line_2><?pan ${PAN}?></emboss_line_2>`)],
      ['application/xml', xml('<emboss_line_2>4111<b/>111111111111</emboss_line_2>')],
      // Too deep or too large to scan: withheld, never thrown.
      ['application/json', `{"status_code":0,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`],
      ['application/xml', `<response>${'<a>'.repeat(5000)}1${'</a>'.repeat(5000)}</response>`],
      ['application/xml', `<response>${'<a>x</a>'.repeat(300_000)}</response>`],
    ] as const;
    for (const [type, body] of withheld) assert.equal(storable(type, body).kind, 'withheld', body.slice(0, 300));
    // What Galileo sends stays byte for byte, declaration and all.
    const x = xml('<card_number>487093XXXXXX1264</card_number>');
    assert.deepEqual(storable('application/xml', x), { kind: 'response', body: x });
  });
});

/**
 * Nothing sensitive reaches the logs (docs/contract.md, Logs and metrics). One real gateway
 * process, two clients, LOG_LEVEL debug, a PCI-enabled simulator (full card_number, expiry_date and
 * card_security_code in its answers), and a realistic mix: every operation as JSON and form,
 * replays, a reused transactionId, a request still in progress, validation failures, caller-sent
 * credentials, unreadable bodies, Galileo failures, 401/403/404/405, card numbers in paths and
 * request ids. Then everything the process wrote (stdout and stderr) is searched for every secret
 * and every piece of personal or card data that was sent or returned.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import request from 'supertest';
import { startSimulator } from '../../src/simulator/server.js';
import { asForm, exampleBody, pathOf } from '../../scripts/lib/examples.js';
import { sha256, uniqueSsn, type Simulator } from '../helpers/harness.js';
import { killAllGatewayProcesses, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { openLabelValues } from '../helpers/metrics-text.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');
/** Letters only: a transactionId never collides with the short numbers searched for below. */
const tx = (label: string) => `leak-${label}-${letters(10)}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('ops: nothing sensitive is logged (real process, realistic traffic)', function () {
  this.timeout(60_000);

  const credentials = { apiLogin: `leakLogin${hex(4)}`, apiTransKey: `lk${hex(6)}x`.slice(0, 15), providerId: 4242 };
  const onboardingKey = `onb_${hex(24)}`;
  const ivrKey = `ivr_${hex(24)}`;
  /** Searched for in the raw output: long enough never to occur by chance. */
  const secrets = new Map<string, string>();
  /** 3-5 characters (PINs, CVVs, expiry dates): searched for as whole numbers in the caller-influenced fields. */
  const shortSecrets = new Map<string, string>();
  const secret = (label: string, value: string) => {
    (value.length >= 6 ? secrets : shortSecrets).set(`${label}: ${value}`, value);
    return value;
  };
  secret('apiTransKey', credentials.apiTransKey);
  secret('apiLogin', credentials.apiLogin);
  secret('onboarding bearer key', onboardingKey);
  secret('ivr bearer key', ivrKey);

  let sim: Simulator;
  let gw: GatewayProcess & { url: string };
  let sent = 0;
  const forwardedIds: string[] = [];
  let metricsText = '';

  const identity = (label: string) => ({
    ...exampleBody('createAccount'),
    transactionId: tx(label),
    idType: 2,
    id: secret(`${label} SSN`, uniqueSsn()),
    id2: secret(`${label} id2`, `${uniqueSsn()}|ut|12-25-2030`),
    dateOfBirth: secret(`${label} dateOfBirth`, `19${randomInt(40, 99)}-0${randomInt(1, 9)}-${randomInt(10, 28)}`),
    webPwd: secret(`${label} webPwd`, `Pw${hex(6)}9x`),
    secretAnswer: secret(`${label} secretAnswer`, `Larry ${letters(10)}`),
  });
  const callParams = (label: string, pan: string, expiry: string) => {
    const passCode = secret(`${label} passCode`, String(randomInt(1000, 10000)));
    return secret(`${label} callParams`, JSON.stringify({ panLastFour: pan.slice(-4), passCode, expiryDate: expiry }));
  };

  /** Every request goes through here, so the test knows how many `request completed` lines to expect. */
  /** key null: no Authorization header. */
  const call = (method: 'get' | 'post', path: string, key: string | null = onboardingKey) => {
    sent += 1;
    const req = request(gw.url)[method](path);
    return key === null ? req : req.set('authorization', `Bearer ${key}`);
  };
  const json = (operationId: string, body: object, key?: string | null) => call('post', pathOf(operationId), key).send(body);
  const form = (operationId: string, body: Record<string, unknown>, key?: string | null) =>
    call('post', pathOf(operationId), key).type('form').send(asForm(body));
  const reachedGalileo = async (transactionId: string) => {
    for (let i = 0; i < 200 && !sim.requests().some((r) => r.params.transactionId === transactionId); i++) await new Promise((r) => setTimeout(r, 10));
  };

  before(async () => {
    sim = await startSimulator({ port: 0, host: '127.0.0.1', credentials, pciEnabled: true });
    gw = await startGatewayProcess({
      GALILEO_BASE_URL: sim.url,
      GALILEO_API_LOGIN: credentials.apiLogin,
      GALILEO_API_TRANS_KEY: credentials.apiTransKey,
      GALILEO_PROVIDER_ID: String(credentials.providerId),
      GALILEO_TIMEOUT_MS: '1000',
      GALILEO_MAX_RETRIES: '1',
      GATEWAY_CLIENTS: JSON.stringify([
        { name: 'onboarding', keySha256: sha256(onboardingKey), operations: ['*'] },
        { name: 'ivr', keySha256: sha256(ivrKey), operations: ['createIvrCall'] },
      ]),
      LOG_LEVEL: 'debug',
    });

    // --- Accounts, JSON and form (XML answer), with full card data in the answers.
    const a = identity('A');
    const createdA = await json('createAccount', a);
    assert.equal(createdA.status, 200, createdA.text);
    forwardedIds.push(a.transactionId);
    const dataA = JSON.parse(createdA.text).response_data[0];
    assert.match(dataA.card_number, /^\d{16}$/, 'the simulator is not PCI-enabled');
    const panA = secret('A PAN', dataA.card_number);
    const prnA = secret('A PRN', dataA.pmt_ref_no);
    secret('A galileo_account_number', String(dataA.galileo_account_number));
    const expiryA = secret('A expiry_date', dataA.expiry_date);
    secret('A card_security_code', dataA.card_security_code);

    const b = identity('B');
    const createdB = await form('createAccount', b).set('response-content-type', 'xml');
    assert.equal(createdB.status, 200, createdB.text);
    forwardedIds.push(b.transactionId);
    const xml = (field: string) => new RegExp(`<${field}>([^<]+)</${field}>`).exec(createdB.text)![1]!;
    const panB = secret('B PAN', xml('card_number'));
    const prnB = secret('B PRN', xml('pmt_ref_no'));
    const expiryB = secret('B expiry_date', xml('expiry_date'));
    secret('B card_security_code', xml('card_security_code'));
    assert.match(panB, /^\d{16}$/);

    // --- Idempotency: a replay, a reused transactionId, a request still in progress.
    assert.equal((await json('createAccount', a)).headers['idempotent-replayed'], 'true');
    assert.equal((await json('createAccount', { ...identity('C'), transactionId: a.transactionId })).status, 422);
    const slow = identity('E');
    sim.addFault({ fault: { type: 'latency', ms: 1500 }, match: { transactionId: slow.transactionId } });
    const timedOut = json('createAccount', slow);
    const timedOutDone = timedOut.then((res) => res); // supertest sends on then()
    await reachedGalileo(slow.transactionId);
    assert.equal((await json('createAccount', slow)).status, 409);
    assert.equal((await timedOutDone).status, 504);
    forwardedIds.push(slow.transactionId);

    // --- createIvrCall with a PAN and with a PRN, callParams full of card data.
    const ivr1 = { transactionId: tx('ivr1'), accountNo: panA, callType: 'CPIN', callParams: callParams('ivr1', panA, expiryA), phone: '8013656060' };
    const ivrRes1 = await json('createIvrCall', ivr1, ivrKey);
    assert.equal(JSON.parse(ivrRes1.text).status_code, 0, ivrRes1.text);
    const ivr2 = { transactionId: tx('ivr2'), accountNo: prnB, callType: 'CPIN', callParams: callParams('ivr2', panB, expiryB) };
    assert.equal(JSON.parse((await form('createIvrCall', ivr2)).text).status_code, 0);
    forwardedIds.push(ivr1.transactionId, ivr2.transactionId);

    // --- On-demand alerts: enrol (a PIN is "texted"), confirm with it as a form, a wrong PIN by PAN.
    const alerts = { accountNo: prnA, prodId: 501, mobilePhone: '8015556060', mobileCarrierId: 8 };
    const enrol = { ...alerts, transactionId: tx('enrol'), actionType: 'E' };
    assert.equal(JSON.parse((await json('modifyOnDemandAlertStatus', enrol)).text).status_code, 0);
    const pin = secret('texted verificationPin', sim.lastPin(prnA)!);
    const confirm = { ...alerts, transactionId: tx('confirm'), actionType: 'C', verificationPin: pin };
    assert.equal(JSON.parse((await form('modifyOnDemandAlertStatus', confirm)).text).status_code, 0);
    const wrongPin = {
      ...alerts,
      accountNo: panB,
      transactionId: tx('wrongpin'),
      actionType: 'C',
      verificationPin: secret('wrong verificationPin', String(randomInt(1000, 10000))),
    };
    assert.equal((await json('modifyOnDemandAlertStatus', wrongPin)).status, 200);
    forwardedIds.push(enrol.transactionId, confirm.transactionId, wrongPin.transactionId);

    // --- Refused before Galileo: bad fields, unknown fields, caller credentials, unreadable bodies.
    const bad = { ...identity('D'), prodId: 'abc', dateOfBirth: secret('D bad dateOfBirth', '1985-13-45'), webPwd: secret('D bad webPwd', 'weakpassword') };
    assert.equal((await json('createAccount', bad)).status, 400);
    assert.equal((await form('createAccount', { ...identity('D2'), mobilePhone: 'not-a-phone' })).status, 400);
    const unknownFields = { ...ivr1, transactionId: tx('unknown'), cardNumber: panA, cvv: dataA.card_security_code, expiry: expiryA };
    assert.equal((await json('createIvrCall', unknownFields)).status, 400);
    const invalidPan = secret('15-digit account number', `4${String(randomInt(10 ** 9, 10 ** 10 - 1))}${randomInt(1000, 9999)}`);
    assert.equal((await json('modifyOnDemandAlertStatus', { ...alerts, transactionId: tx('badpan'), accountNo: invalidPan, actionType: 'F' })).status, 400);
    const callerKey = secret('caller-sent apiTransKey', `caller${hex(5)}`);
    assert.equal((await json('createAccount', { ...identity('K'), apiTransKey: callerKey })).status, 400);
    assert.equal(
      (
        await form('createIvrCall', {
          ...ivr2,
          transactionId: tx('credform'),
          apiTransKey: callerKey,
          apiLogin: secret('caller-sent apiLogin', `login${hex(5)}`),
        })
      ).status,
      400,
    );
    const truncated = `{"accountNo":"${panA}","callParams":"{\\"passCode\\":\\"${letters(4)}`;
    assert.equal((await call('post', pathOf('createIvrCall')).set('content-type', 'application/json').send(truncated)).status, 400);
    assert.equal((await call('post', pathOf('createAccount')).set('content-type', 'text/plain').send(`ssn=${a.id}`)).status, 415);
    assert.equal(
      (
        await call('post', pathOf('createIvrCall'))
          .type('form')
          .send(`accountNo=${panA}&pad=${'x'.repeat(70_000)}`)
      ).status,
      413,
    );

    // --- Galileo misbehaving: garbage, an edge 503 every time, an answer slower than the timeout.
    const garbage = { ...ivr1, transactionId: tx('malformed') };
    sim.addFault({ fault: { type: 'malformed' }, match: { transactionId: garbage.transactionId } });
    assert.equal((await json('createIvrCall', garbage)).status, 502);
    const edge = { ...alerts, accountNo: panB, transactionId: tx('edge'), actionType: 'F' };
    sim.addFault({ fault: { type: 'edge', status: 503 }, match: { transactionId: edge.transactionId } });
    assert.equal((await form('modifyOnDemandAlertStatus', edge)).status, 502);
    forwardedIds.push(garbage.transactionId, edge.transactionId);

    // --- Callers without the right key, and paths and request ids carrying numbers.
    assert.equal((await json('createIvrCall', ivr1, null)).status, 401);
    assert.equal((await json('createIvrCall', ivr1, secret('wrong bearer key', `wrong_${hex(20)}`))).status, 401);
    const basic = secret('basic credentials', Buffer.from(`${credentials.apiLogin}:${credentials.apiTransKey}`).toString('base64'));
    assert.equal((await call('post', pathOf('createIvrCall'), null).set('authorization', `Basic ${basic}`).send(ivr1)).status, 401);
    assert.equal((await json('createAccount', identity('F'), ivrKey)).status, 403);
    assert.equal((await call('post', `/intserv/4.0/${panA}`).send(ivr1)).status, 404);
    assert.equal((await call('get', `/cards/${panB}/cvv?ssn=${a.id}&dob=${a.dateOfBirth}`)).status, 404);
    assert.equal((await call('get', `${pathOf('createIvrCall')}?accountNo=${panA}&passCode=1234`)).status, 405);
    assert.equal((await call('get', '/healthz').set('x-request-id', `pan-${panA}`)).status, 200);
    assert.equal((await call('get', '/readyz').set('x-request-id', `ssn-${b.id}`)).status, 200);
    const metrics = await call('get', '/metrics');
    assert.equal(metrics.status, 200);
    metricsText = metrics.text;

    gw.signal('SIGTERM');
    assert.deepEqual(await gw.exited, { code: 0, signal: null });
  });

  after(async () => {
    await killAllGatewayProcesses();
    await sim?.close();
  });

  const output = () => gw.stdout() + gw.stderr();

  it('the scan is meaningful: one line per request, every outcome, the transactionIds and the masked last four', () => {
    const completed = gw.logs().filter((l) => l.msg === 'request completed');
    assert.equal(completed.length, sent, `${completed.length} request completed lines for ${sent} requests`);
    const statuses = new Set(completed.map((l) => l.status));
    for (const status of [200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 502, 504]) assert.ok(statuses.has(status), `no ${status} in the log`);
    const outcomes = new Set(completed.map((l) => l.idempotency));
    assert.deepEqual([...outcomes].sort(), ['forwarded', 'in_progress', 'key_reused', 'none', 'replayed']);
    for (const id of forwardedIds) assert.ok(output().includes(`"transactionId":"${id}"`), `${id} is not in the log`);
    assert.ok(output().includes('******'), 'no masked number in the log: the paths were not logged?');
    assert.ok(completed.some((l) => /^\/intserv\/\*{6}\d{4}$/.test(String(l.path))));
    assert.ok(secrets.size >= 30, `only ${secrets.size} long values searched for`);
    // Expiry dates are YYYY-MM-DD (Galileo's layout): searched for in full with the long values.
    assert.ok(shortSecrets.size >= 6, `only ${shortSecrets.size} short values searched for`);
  });

  it('stderr is empty', () => {
    assert.equal(gw.stderr(), '');
  });

  it('no secret, credential, PAN, PRN, id, date of birth, callParams, PIN, password, answer or card data, in full, anywhere', () => {
    const text = output();
    const found = [...secrets].filter(([, value]) => text.includes(value)).map(([label]) => label);
    assert.deepEqual(found, []);
    // Nor anything PAN- or PRN-shaped, sent or not (a UUID's last group can be twelve digits).
    const withoutUuids = text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'uuid');
    assert.deepEqual(withoutUuids.match(/\d{12,}/g) ?? [], []);
  });

  it('no short secret (PIN, passCode, CVV, expiry date) in any caller-influenced field', () => {
    // Drop what the gateway itself produces (times, durations, statuses, its own UUIDs, ports)
    // and the masks' last four, so a three- or four-digit value can only match real data.
    const callerText = gw
      .stdout()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const {
          level: _l,
          time: _t,
          durationMs: _d,
          upstream: _u,
          status: _s,
          url: _url,
          galileo: _g,
          drainTimeoutMs: _dt,
          inFlight: _i,
          ...rest
        } = JSON.parse(line) as Record<string, unknown>;
        if (typeof rest.requestId === 'string' && UUID.test(rest.requestId)) delete rest.requestId;
        return JSON.stringify(rest).replace(/\*{6}\d{4}/g, '******');
      })
      .join('\n');
    const found = [...shortSecrets]
      .filter(([, value]) => new RegExp(`(?<!\\d)${value.replace(/[/]/g, '\\/')}(?!\\d)`).test(callerText))
      .map(([label]) => label);
    assert.deepEqual(found, []);
  });

  it('/metrics holds no caller value: closed label sets, no transactionId or number', () => {
    assert.deepEqual(openLabelValues(metricsText), []);
    for (const id of forwardedIds) assert.ok(!metricsText.includes(id), `${id} in /metrics`);
    // Whole values only: a float sum such as 0.0041000000001 may hold a number's digits by chance.
    const appears = (value: string) => new RegExp(`(?<![0-9])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9])`).test(metricsText);
    assert.deepEqual(
      [...secrets].filter(([, value]) => appears(value)).map(([label]) => label),
      [],
    );
  });
});

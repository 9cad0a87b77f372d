/**
 * Pins every request field of the four operations to Galileo's own published schema: the wire
 * name, the JSON type and the enum. These are facts restated on purpose (the test's data, not the
 * spec's), so that a wrong name (`pep` for politicalAffiliation, `kycReference` for kycRefNo,
 * `externalUserId` for externalCustomerId) can never come back unnoticed.
 *
 * Sources (docs/galileo-fidelity.md):
 * - galileo-openapi: Galileo's machine-readable OpenAPI of the Program API 4.0, as SoFi Technologies
 *   publishes it (2026): accounts-and-cards (createAccount), ivr (createIvrCall), alerts
 *   (modifyOnDemandAlertStatus), miscellaneous (getCallStatus) request schemas.
 * - galileo-docs: Galileo's reference on the response envelope: providerTransactionId and
 *   providerTimestamp are accepted on every call and echoed back in `echo`.
 * - seed: the endpoint's reference page, where it is the only source of a fact.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

interface Fact {
  type: 'string' | 'integer' | 'number';
  enum?: Array<string | number>;
  required?: true;
  source: 'galileo-openapi' | 'galileo-docs' | 'seed';
}

const G = 'galileo-openapi' as const;
const str: Fact = { type: 'string', source: G };
const int: Fact = { type: 'integer', source: G };
const num: Fact = { type: 'number', source: G };
const zeroOne: Fact = { type: 'integer', enum: [0, 1], source: G };
const idType: Fact = { type: 'integer', enum: Array.from({ length: 19 }, (_, i) => i), source: G };
const provider = { providerTransactionId: { type: 'string', source: 'galileo-docs' }, providerTimestamp: { type: 'string', source: 'galileo-docs' } } as const;

const GALILEO: Record<string, Record<string, Fact>> = {
  createAccount: {
    transactionId: { ...str, required: true },
    accountNo: str,
    idType,
    id: str,
    idType2: idType,
    id2: str,
    idType3: idType,
    id3: str,
    locationType: { type: 'integer', enum: [0, 1, 2, 3], source: G },
    location: str,
    locale: { type: 'string', enum: ['en_US', 'es_US', 'en_CA', 'fr_CA', 'es_MX', 'en_MX'], source: G },
    externalAccountId: str,
    firstName: str,
    middleName: str,
    lastName: str,
    dateOfBirth: str,
    address1: str,
    address2: str,
    address3: str,
    address4: str,
    address5: str,
    city: str,
    state: str,
    postalCode: str,
    countryCode: str,
    primaryPhone: str,
    otherPhone: str,
    mobilePhone: str,
    mobileCarrierId: str,
    email: str,
    webUid: str,
    webPwd: str,
    secretQuestion: str,
    secretAnswer: str,
    incomeSource: str,
    occupation: str,
    nationality: str,
    placeOfBirth: str,
    curp: str,
    politicalAffiliation: int,
    kycRefNo: str,
    monthlyIncome: num,
    externalCustomerId: str,
    prodId: { ...int, required: true },
    loadAmount: num,
    loadType: str,
    primaryAccount: str,
    fundingAccountNo: str,
    sharedBalance: zeroOne,
    authorizedUser: zeroOne,
    userData: str,
    offline: zeroOne,
    verifyOnly: zeroOne,
    cipStatus: { type: 'string', enum: ['0', '1', '2'], source: G },
    embossLine2: str,
    providerAssessedFee: num,
    loadFromAccountNo: str,
    sweepDate: str,
    expressMail: { type: 'string', enum: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'Y', 'N'], source: G },
    shipToAddressPermanent: str,
    shipToAddress1: str,
    shipToAddress2: str,
    shipToCity: str,
    shipToState: str,
    shipToPostalCode: str,
    shipToCountryCode: str,
    businessName: str,
    mobilePhoneCountryCode: str,
    riskContextId: str,
    ...provider,
  },
  createIvrCall: {
    transactionId: { ...str, required: true },
    accountNo: { ...str, required: true },
    // Galileo's schema: a pattern, ^([a-zA-Z0-9]{1,4})$; its reference page: CPIN is the only valid
    // value (anything else is 465-01 for every program), so the gateway may refuse the rest.
    callType: { type: 'string', enum: ['CPIN'], required: true, source: 'seed' },
    callParams: { ...str, required: true },
    phone: str,
    ...provider,
  },
  modifyOnDemandAlertStatus: {
    transactionId: { ...str, required: true },
    accountNo: { ...str, required: true },
    prodId: { ...int, required: true },
    mobilePhone: { ...str, required: true },
    mobileCarrierId: { ...int, required: true },
    actionType: { type: 'string', enum: ['E', 'U', 'F', 'C', 'S'], required: true, source: G },
    verificationPin: str,
    ...provider,
  },
  // Miscellaneous (getCallStatus): the lookup of an earlier call.
  getCallStatus: {
    transactionId: { ...str, required: true },
    requestTransactionId: { ...str, required: true },
    requestMethodName: { ...str, required: true },
    ...provider,
  },
};

/** Names Galileo does not have: an earlier version of the spec used them. */
const NEVER = ['pep', 'kycReference', 'externalUserId'];

type Schema = Record<string, any>;
const spec = YAML.parse(readFileSync(new URL('../../openapi/galileo.yaml', import.meta.url), 'utf8')) as Schema;
const resolve = (node: Schema): Schema =>
  typeof node.$ref === 'string'
    ? resolve(
        node.$ref
          .slice(2)
          .split('/')
          .reduce((at: Schema, k: string) => at[k], spec),
      )
    : node;

function requestSchema(operationId: string): Schema {
  const form = spec.paths[`/${operationId}`].post.requestBody.content['application/x-www-form-urlencoded'].schema;
  return resolve(form.allOf.find((s: Schema) => s.$ref !== '#/components/schemas/Credentials'));
}

describe("openapi/galileo.yaml against Galileo's published request schemas", () => {
  for (const [operationId, facts] of Object.entries(GALILEO)) {
    describe(operationId, () => {
      const schema = requestSchema(operationId);
      const properties = schema.properties as Record<string, Schema>;

      it("has exactly the fields Galileo accepts, under Galileo's names", () => {
        assert.deepEqual(Object.keys(properties).sort(), Object.keys(facts).sort());
        for (const name of NEVER) assert.ok(!(name in properties), `${name} is not a Galileo field`);
      });

      it('requires what Galileo requires, and nothing more', () => {
        const required = Object.entries(facts)
          .filter(([, f]) => f.required)
          .map(([name]) => name);
        assert.deepEqual([...(schema.required as string[])].sort(), required.sort());
      });

      for (const [name, fact] of Object.entries(facts)) {
        it(`${name}: ${fact.type}${fact.enum ? ` of ${fact.enum.join('|')}` : ''} (${fact.source})`, () => {
          const field = resolve(properties[name]!);
          const types = (Array.isArray(field.type) ? field.type : [field.type]).filter((t: string) => t !== 'null');
          assert.deepEqual(types, [fact.type]);
          if (fact.enum)
            assert.deepEqual(
              (field.enum as unknown[]).filter((v) => v !== null),
              fact.enum,
            );
          else assert.equal(field.enum, undefined, 'an enum Galileo does not have');
          // Every field says where its rules come from.
          assert.ok(field['x-source'] !== undefined, 'x-source missing');
          if (!fact.required)
            assert.ok(types.length === 1 && (Array.isArray(field.type) ? field.type.includes('null') : false), 'an optional field accepts null');
        });
      }
    });
  }

  it('no request schema carries a default (Galileo applies its own)', () => {
    const defaults: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      if ('default' in node && !path.includes('/responses')) defaults.push(path);
      for (const [key, child] of Object.entries(node)) visit(child, `${path}/${key}`);
    };
    visit(spec.components, '#/components');
    assert.deepEqual(defaults, []);
  });
});

import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { GraphQLField, GraphQLSchema } from 'graphql';
import { buildApiSchema } from '../../../api/schema';
import { hashApiKeySecret } from '../../../api/auth/token';
import { computeHa1, DigestAlgorithm } from '../../../domain/digest';
import { forwardFlow, OPERATOR_KEY, TestApi, TEST_REALM, type GraphqlResult } from '../../support/api';
import { argumentsFor, operationText, Samples, stringLeaves, withLeaf, type Fixtures, type Json } from '../../support/operations';

/**
 * Every mutation of the schema, found by introspection (a new one is covered without touching
 * this file), is sent hostile strings in each of its string arguments beside real passwords and
 * keys; then the log is searched for every secret. A second pass makes every write fail inside
 * PostgreSQL, so each mutation's "unexpected error" log line is searched too.
 */
const HOSTILE = [
  'nul\u0000inside',
  'ctl\u0001\u0007\u001b[31m\u007f\u0085\u009b',
  'x'.repeat(1_000_000),
  '\u202eevil\u202c \u200b\ufeff e\u0301 \u{1f600} \ud800',
  '__proto__',
  "o'; DROP TABLE trunk; --",
  '"\\\'`$(id)${x}%s%n',
  '',
  '   ',
  '{"$ne":null}',
];

/** The longest answer a hostile request may get: nothing echoes its input in full. */
const MAX_ANSWER_BYTES = 4096;

/** The username/password pairs a request carries, wherever they sit in it. */
function credentialsIn(value: Json, pairs: { username?: string; password?: string }[] = []): { username?: string; password?: string }[] {
  if (Array.isArray(value)) value.forEach((item) => credentialsIn(item, pairs));
  else if (value !== null && typeof value === 'object') {
    if (typeof value.sipPassword === 'string') pairs.push({ username: typeof value.sipUsername === 'string' ? value.sipUsername : undefined, password: value.sipPassword });
    Object.values(value).forEach((item) => credentialsIn(item, pairs));
  }
  return pairs;
}

async function installSabotage(api: TestApi): Promise<void> {
  await api.dataSource.query(`CREATE FUNCTION test_sabotage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'write refused by the test'; END $$`);
  const tables: { tablename: string }[] = await api.dataSource.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
  for (const { tablename } of tables) {
    await api.dataSource.query(`CREATE TRIGGER test_sabotage BEFORE INSERT OR UPDATE OR DELETE ON "${tablename}" FOR EACH ROW EXECUTE FUNCTION test_sabotage()`);
  }
}

describe('no secret reaches the log, whatever the input', function () {
  this.timeout(180_000);
  let api: TestApi;
  let schema: GraphQLSchema;
  before(async () => {
    api = await TestApi.start();
    schema = await buildApiSchema();
  });
  after(async () => {
    await api.stop();
  });

  it('feeds every mutation hostile strings and finds no password, HA1, key or key hash in the log', async () => {
    const company = await api.company('Fixture Co');
    const fixtureUsername = 'fixture-pbx';
    const fixturePassword = `Fixture-Passw0rd-${randomUUID()}`;
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(
      company.key,
      `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
      { input: { companyId: company.id, name: 'Fixture', sipUsername: fixtureUsername, sipPassword: fixturePassword, inboundNumbers: ['+442079460001'], maxConcurrentCalls: 2 } },
    );
    const { createDialPlan } = await api.ok<{ createDialPlan: { id: string } }>(
      company.key,
      `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`,
      { input: { companyId: company.id, name: 'Fixture plan', internalNumber: '100', flow: forwardFlow() } },
    );
    const { createCarrier } = await api.ok<{ createCarrier: { id: string } }>(
      OPERATOR_KEY,
      `mutation { createCarrier(input: { name: "Fixture carrier", sourceCidrs: ["192.0.2.0/24"] }) { id } }`,
    );
    const { createApiKey: spareKey } = await api.ok<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
      company.key,
      `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`,
      { input: { companyId: company.id, name: 'to be revoked' } },
    );
    const fixtures: Fixtures = {
      ids: { Company: company.id, Trunk: createTrunk.id, DialPlan: createDialPlan.id, Carrier: createCarrier.id, ApiKey: spareKey.apiKey.id },
    };
    const samples = new Samples(fixtures);
    samples.passwords.push(fixturePassword);
    const ha1s = new Set<string>();
    const hashesOf = (username: string, password: string): void => {
      for (const algorithm of [DigestAlgorithm.MD5, DigestAlgorithm.SHA256]) ha1s.add(computeHa1(algorithm, username, TEST_REALM, password));
    };
    hashesOf(fixtureUsername, fixturePassword);

    const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});
    expect(mutations.length).to.be.greaterThan(10);
    const answers: { mutation: string; leaf: string; result: GraphqlResult }[] = [];
    const createdKeys: string[] = [];
    const send = async (field: GraphQLField<unknown, unknown>, key: string, args: Record<string, Json>, leaf: string): Promise<void> => {
      // Every password sent, hostile or not, may end up hashed: its HA1s are secrets too.
      for (const { username, password } of credentialsIn(args)) {
        if (password === undefined) continue;
        hashesOf(fixtureUsername, password);
        if (username !== undefined) hashesOf(username, password);
      }
      const result = await api.request(key, operationText('mutation', field), args);
      answers.push({ mutation: field.name, leaf, result });
      const secret = (result.data as { createApiKey?: { __typename: string } & { secret?: string } } | null)?.createApiKey?.secret;
      if (secret !== undefined) createdKeys.push(secret);
    };

    const covered = new Set<string>();
    for (const field of mutations) {
      await send(field, company.key, argumentsFor(samples, fixtures, field), 'valid, company key');
      const valid = argumentsFor(samples, fixtures, field) as Json;
      const leaves = stringLeaves(valid);
      for (const path of leaves) {
        for (const hostile of HOSTILE) {
          // Each hostile value beside fresh real secrets: the sample is rebuilt for every request.
          const args = withLeaf(argumentsFor(samples, fixtures, field) as Json, path, hostile) as Record<string, Json>;
          await send(field, OPERATOR_KEY, args, path.join('.'));
        }
        covered.add(field.name);
      }
    }
    // A mutation whose arguments hold no string (setMaxCallLengthSeconds) has nothing hostile to carry.
    const withStrings = mutations.filter((field) => stringLeaves(argumentsFor(samples, fixtures, field) as Json).length > 0);
    expect([...covered].sort()).to.deep.equal(withStrings.map((field) => field.name).sort());

    // Hostile input is a client error, never an internal one, and answers do not echo it in full.
    const internal = answers
      .filter(({ result }) => result.errors?.some((error) => error.extensions?.code === 'INTERNAL_SERVER_ERROR'))
      .map(({ mutation, leaf }) => `${mutation} ${leaf}`);
    const long = answers
      .filter(({ result }) => Buffer.byteLength(result.text) > MAX_ANSWER_BYTES)
      .map(({ mutation, leaf, result }) => `${mutation} ${leaf}: ${result.text.length} bytes`);

    // The same mutations again, every write now refused inside PostgreSQL: the failing queries
    // carry the hashes as parameters, and the log line about them must not.
    await installSabotage(api);
    const before = api.transcript.length;
    for (const field of mutations) await send(field, OPERATOR_KEY, argumentsFor(samples, fixtures, field), 'database refuses');
    const unexpected = api.transcript.slice(before).filter((line) => line.includes('unexpected error in a GraphQL operation'));
    expect(unexpected.length, 'the refused writes were logged').to.be.greaterThan(5);

    const [stored] = await api.dataSource.query(
      `SELECT coalesce(array_agg(ha1_md5) || array_agg(ha1_sha256), '{}') AS trunk, (SELECT array_agg(key_hash) FROM api_key) AS keys FROM trunk`,
    );
    for (const ha1 of stored.trunk as string[]) ha1s.add(ha1);
    const keys = [OPERATOR_KEY, company.key, spareKey.secret, ...createdKeys];
    const keyHashes = new Set<string>([...stored.keys, ...keys.map(hashApiKeySecret)]);
    const logs = api.transcript.filter((entry) => entry.startsWith('{"level"'));
    expect(logs.length).to.be.greaterThan(10);
    const log = logs.join('\n');
    const everything = api.transcript.join('\n');
    const leaks: string[] = [];
    for (const password of samples.passwords) if (everything.includes(password)) leaks.push(`password ${password}`);
    for (const ha1 of ha1s) if (everything.includes(ha1)) leaks.push(`HA1 ${ha1}`);
    for (const hash of keyHashes) if (everything.includes(hash)) leaks.push(`API key hash ${hash}`);
    for (const key of keys) if (log.includes(key)) leaks.push(`API key ${key.slice(0, 8)}...`);
    expect({ internal: [...new Set(internal)], long, leaks }).to.deep.equal({ internal: [], long: [], leaks: [] });
  });
});

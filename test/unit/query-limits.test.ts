import { expect } from 'chai';
import { seededRandom } from '../support/random';
import { buildSchema, parse } from 'graphql';
import { findQueryExcess, measureQuery, operationsOf, QUERY_LIMITS, type QueryFigures } from '../../api/query-limits';

/** A small schema of its own, so the figures below do not move when the product's schema does. */
const SCHEMA = buildSchema(`
  type Query { a: Int b: Int item: Item items(first: Int! = 50): ItemConnection! }
  type Mutation { touch(first: Int): [Item!]! }
  type Item { id: ID! name: String child: Item children(first: Int! = 50): ItemConnection! }
  type ItemConnection { edges: [ItemEdge!]! }
  type ItemEdge { node: Item! }
`);

function figures(query: string, variables: Record<string, unknown> = {}): QueryFigures {
  return measureQuery(SCHEMA, parse(query), variables);
}

describe('measureQuery', () => {
  const table: [string, string, Record<string, unknown>, QueryFigures][] = [
    ['one field', '{ a }', {}, { depth: 1, aliases: 0, fields: 1, cost: 1 }],
    ['aliases', '{ x: a y: a b }', {}, { depth: 1, aliases: 2, fields: 3, cost: 3 }],
    ['a list without first costs its default page size', '{ items { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 50 * 3 }],
    ['a literal first', '{ items(first: 3) { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 3 * 3 }],
    ['first from a variable', 'query ($n: Int!) { items(first: $n) { edges { node { id } } } }', { n: 7 }, { depth: 4, aliases: 0, fields: 4, cost: 1 + 7 * 3 }],
    ['a missing variable counts the largest page', 'query ($n: Int!) { items(first: $n) { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 200 * 3 }],
    ['a page size over the maximum counts the maximum', '{ items(first: 100000) { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 200 * 3 }],
    ['a page size under 1 counts 1', '{ items(first: -5) { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 3 }],
    ['a non-integer page size counts the maximum', '{ items(first: "x") { edges { node { id } } } }', {}, { depth: 4, aliases: 0, fields: 4, cost: 1 + 200 * 3 }],
    ['nested lists multiply', '{ items(first: 10) { edges { node { children(first: 10) { edges { node { id } } } } } } }', {}, { depth: 7, aliases: 0, fields: 7, cost: 1 + 10 * (1 + (1 + (1 + 10 * 3))) }],
    ['a fragment counts at every spread', '{ x: item { ...I } y: item { ...I } } fragment I on Item { id name }', {}, { depth: 2, aliases: 2, fields: 6, cost: 6 }],
    ['an inline fragment adds no depth', '{ ... on Query { a } }', {}, { depth: 1, aliases: 0, fields: 1, cost: 1 }],
    ['an unused fragment counts once (it is validated)', '{ a } fragment U on Item { id name }', {}, { depth: 1, aliases: 0, fields: 3, cost: 3 }],
    ['unknown fields count without a page size', '{ nope(first: 9) { deeper } }', {}, { depth: 2, aliases: 0, fields: 2, cost: 2 }],
    ['an unknown fragment counts nothing', '{ item { ...Missing } }', {}, { depth: 1, aliases: 0, fields: 1, cost: 1 }],
    ['a mutation starts at the mutation type', 'mutation { touch(first: 4) { id } }', {}, { depth: 2, aliases: 0, fields: 2, cost: 1 + 4 }],
    ['operations add up', 'query A { a } query B { a b }', {}, { depth: 1, aliases: 0, fields: 3, cost: 3 }],
    ['introspection fields are known', '{ __typename __schema { types { name } } }', {}, { depth: 3, aliases: 0, fields: 4, cost: 4 }],
  ];
  for (const [name, query, variables, expected] of table) {
    it(name, () => {
      expect(figures(query, variables)).to.deep.equal(expected);
    });
  }

  it('ends on fragment cycles (a validation error, later)', () => {
    expect(figures('{ item { ...A } } fragment A on Item { id child { ...B } } fragment B on Item { name child { ...A } }')).to.deep.equal({ depth: 3, aliases: 0, fields: 5, cost: 5 });
    expect(figures('{ item { ...A } } fragment A on Item { ...A id }')).to.deep.equal({ depth: 2, aliases: 0, fields: 2, cost: 2 });
  });

  it('measures each fragment once: 60 levels of doubling in linear time, the figures saturating', () => {
    const levels = 60;
    const fragments = Array.from({ length: levels }, (_, level) =>
      level === 0 ? 'fragment F0 on Item { id }' : `fragment F${level} on Item { x: child { ...F${level - 1} } y: child { ...F${level - 1} } }`,
    );
    const began = process.hrtime.bigint();
    const measured = figures(`{ item { ...F${levels - 1} } } ${fragments.join(' ')}`);
    const ms = Number(process.hrtime.bigint() - began) / 1e6;
    expect(measured.fields).to.equal(Number.MAX_SAFE_INTEGER);
    expect(measured.aliases).to.equal(Number.MAX_SAFE_INTEGER);
    expect(measured.depth).to.equal(levels + 1);
    expect(ms).to.be.below(500);
  });
});

describe('findQueryExcess', () => {
  const limits = { tokens: 20, depth: 3, aliases: 2, fields: 6, cost: 100 };

  it('checks the measures in order and names the first over its limit', () => {
    expect(findQueryExcess(SCHEMA, '{ a }', {}, limits)).to.equal(null);
    expect(findQueryExcess(SCHEMA, '{ item { child { child { id } } } }', {}, limits)).to.deep.equal({ measure: 'depth', figure: 4, limit: 3 });
    expect(findQueryExcess(SCHEMA, '{ x: a y: a z: a }', {}, limits)).to.deep.equal({ measure: 'aliases', figure: 3, limit: 2 });
    expect(findQueryExcess(SCHEMA, '{ a a a a a a a }', {}, limits)).to.deep.equal({ measure: 'fields', figure: 7, limit: 6 });
    expect(findQueryExcess(SCHEMA, '{ items(first: 50) { edges { __typename } } }', {}, limits)).to.deep.equal({ measure: 'cost', figure: 101, limit: 100 });
  });

  it('counts every token of a source over the token limit', () => {
    const wide = { ...limits, fields: 1000, cost: 1000 };
    expect(findQueryExcess(SCHEMA, `{ ${'a '.repeat(18)}}`, {}, wide)).to.equal(null);
    expect(findQueryExcess(SCHEMA, `{ ${'a '.repeat(19)}}`, {}, wide)).to.deep.equal({ measure: 'tokens', figure: 21, limit: 20 });
    expect(findQueryExcess(SCHEMA, `{ ${'a '.repeat(100)}}`, {}, wide)).to.deep.equal({ measure: 'tokens', figure: 102, limit: 20 });
  });

  it('leaves a source that does not parse to the server', () => {
    expect(findQueryExcess(SCHEMA, '{ a', {}, limits)).to.equal(null);
    expect(findQueryExcess(SCHEMA, '', {}, limits)).to.equal(null);
  });

  it('survives seeded random and mutated documents (bounded fuzz)', () => {
    const random = seededRandom(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const selections = (depth: number): string => {
      const parts: string[] = [];
      const count = 1 + Math.floor(random() * 4);
      for (let i = 0; i < count; i++) {
        const alias = random() < 0.3 ? `x${i}: ` : '';
        const kind = random();
        if (kind < 0.15) parts.push(`...F${Math.floor(random() * 5)}`);
        else if (kind < 0.25 && depth > 0) parts.push(`... on Item { ${selections(depth - 1)} }`);
        else if (depth > 0 && kind < 0.6) parts.push(`${alias}${pick(['item', 'child', 'items(first: 3)', 'children', 'edges', 'node', 'nope'])} { ${selections(depth - 1)} }`);
        else parts.push(`${alias}${pick(['a', 'b', 'id', 'name', '__typename', 'nope'])}`);
      }
      return parts.join(' ');
    };
    for (let round = 0; round < 1000; round++) {
      const fragments = Array.from({ length: Math.floor(random() * 5) }, (_, index) => `fragment F${index} on ${pick(['Item', 'Query', 'Nope'])} { ${selections(3)} }`);
      let source = `{ ${selections(4)} } ${fragments.join(' ')}`;
      if (random() < 0.5) {
        const at = Math.floor(random() * source.length);
        source = random() < 0.5 ? source.slice(0, at) : `${source.slice(0, at)}${pick(['{', '}', '...', ':', '(', '"', '#', '\u0000'])}${source.slice(at)}`;
      }
      const excess = findQueryExcess(SCHEMA, source, {}, QUERY_LIMITS);
      if (excess !== null) expect(excess.figure).to.be.above(excess.limit);
      let document;
      try {
        document = parse(source);
      } catch {
        continue;
      }
      const measured = measureQuery(SCHEMA, document);
      expect(measured.cost, source).to.be.at.least(measured.fields);
      expect(measured.fields, source).to.be.at.least(Math.max(measured.aliases, measured.depth));
    }
  });
});

describe('operationsOf', () => {
  it('reads GET parameters, POST objects and batches', () => {
    expect(operationsOf('GET', '?query=%7Ba%7D&variables=%7B%22n%22%3A1%7D', '')).to.deep.equal([{ source: '{a}', variables: { n: 1 } }]);
    expect(operationsOf('GET', '?query=%7Ba%7D&variables=nonsense', '')).to.deep.equal([{ source: '{a}', variables: {} }]);
    expect(operationsOf('POST', '', { query: '{a}', variables: { n: 2 } })).to.deep.equal([{ source: '{a}', variables: { n: 2 } }]);
    expect(operationsOf('POST', '', [{ query: '{a}' }, { query: '{b}', variables: [1] }, 7])).to.deep.equal([
      { source: '{a}', variables: {} },
      { source: '{b}', variables: {} },
    ]);
  });

  it('finds no source in a persisted query hash or a body that is not JSON', () => {
    expect(operationsOf('POST', '', { extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } })).to.deep.equal([]);
    expect(operationsOf('POST', '', '{ a }')).to.deep.equal([]);
    expect(operationsOf('POST', '', null)).to.deep.equal([]);
  });
});

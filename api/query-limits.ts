import {
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  isInterfaceType,
  isObjectType,
  parse,
  Lexer,
  Source,
  TokenKind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { ApiError, ErrorCode } from './errors';
import { MAX_PAGE_SIZE } from './pagination';

/**
 * Limits checked on every GraphQL request before graphql-js validates or executes it.
 *
 * Validation is not cheap: its OverlappingFieldsCanBeMerged rule compares every pair of fields
 * that share a response name, so 8,000 repeated fields took 13 s; and aliases through fragments
 * multiply a tiny document into a huge answer. The walk here is linear in the document: each
 * fragment is measured once and its figures reused at every spread, so a fragment that spreads
 * another many times costs arithmetic, not a walk of the expanded tree.
 */
export type QueryMeasure = 'tokens' | 'depth' | 'aliases' | 'fields' | 'cost';

export type QueryLimits = Readonly<Record<QueryMeasure, number>>;

/**
 * What clients send stays well inside: every field of 100 trunks is 40 fields, depth 6 and a
 * cost of 3,901 (200 trunks: 7,801); the standard introspection query is depth 15 and 220
 * fields. Validating 500 repeated fields takes 30-60 ms here, so `fields` keeps the quadratic
 * rule short.
 */
export const QUERY_LIMITS: QueryLimits = Object.freeze({
  /** Lexical tokens of the source: a 100-step flow or 1,000 numbers given inline fit. */
  tokens: 10_000,
  /** Nested selection sets; the schema is 9 deep, introspection's type references 15. */
  depth: 20,
  /** Aliased fields, counted at every fragment spread. */
  aliases: 100,
  /** Field selections, counted at every fragment spread. */
  fields: 500,
  /** Each field costs 1, and a field with a page size multiplies what is under it by that size. */
  cost: 20_000,
});

/** The figures of one document, in the order the limits are checked. */
export type QueryFigures = Readonly<Record<Exclude<QueryMeasure, 'tokens'>, number>>;

/** Figures saturate here: nested fragments can multiply them past what a double holds. */
const CEILING = Number.MAX_SAFE_INTEGER;
const add = (a: number, b: number): number => Math.min(a + b, CEILING);
const multiply = (a: number, b: number): number => Math.min(a * b, CEILING);

interface Tally {
  depth: number;
  aliases: number;
  fields: number;
  cost: number;
}

const empty = (): Tally => ({ depth: 0, aliases: 0, fields: 0, cost: 0 });

function include(into: Tally, from: Tally): void {
  into.depth = Math.max(into.depth, from.depth);
  into.aliases = add(into.aliases, from.aliases);
  into.fields = add(into.fields, from.fields);
  into.cost = add(into.cost, from.cost);
}

type Variables = Readonly<Record<string, unknown>>;

function clampPageSize(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
  return Math.min(Math.max(value, 1), MAX_PAGE_SIZE);
}

/**
 * The page size a field asks for: its `first` argument (a literal or a variable), else the
 * argument's default. Values out of 1..MAX_PAGE_SIZE are refused by input validation later;
 * here they count as the nearest allowed size, so that refusal stays BAD_USER_INPUT.
 * Fields without `first` multiply by 1.
 */
function pageSize(node: FieldNode, definition: GraphQLField<unknown, unknown> | undefined, variables: Variables): number {
  const argument = definition?.args.find((arg) => arg.name === 'first');
  if (argument === undefined) return 1;
  const given = node.arguments?.find((arg) => arg.name.value === 'first')?.value;
  if (given === undefined) return clampPageSize(argument.defaultValue) ?? MAX_PAGE_SIZE;
  if (given.kind === Kind.INT) return clampPageSize(Number(given.value)) ?? MAX_PAGE_SIZE;
  if (given.kind === Kind.VARIABLE) return clampPageSize(variables[given.name.value]) ?? MAX_PAGE_SIZE;
  return MAX_PAGE_SIZE;
}

function fieldDefinition(schema: GraphQLSchema, parent: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent !== undefined && parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  if (parent === undefined || !(isObjectType(parent) || isInterfaceType(parent))) return undefined;
  return parent.getFields()[name];
}

/**
 * Measures a parsed document: every operation, and every fragment no operation spreads (it is
 * still validated). Unknown fields and types count like known ones with no page size; the
 * validation that follows refuses them.
 */
export function measureQuery(schema: GraphQLSchema, document: DocumentNode, variables: Variables = {}): QueryFigures {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measured = new Map<string, Tally>();
  // A fragment being measured spreads nothing into itself: a cycle is a validation error anyway.
  const inProgress = new Set<string>();

  const fragmentTally = (name: string): Tally => {
    const known = measured.get(name);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (fragment === undefined || inProgress.has(name)) return empty();
    inProgress.add(name);
    const tally = selectionSetTally(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? undefined);
    inProgress.delete(name);
    measured.set(name, tally);
    return tally;
  };

  const selectionSetTally = (selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined): Tally => {
    const tally = empty();
    for (const selection of selectionSet.selections) {
      switch (selection.kind) {
        case Kind.FIELD: {
          const definition = fieldDefinition(schema, parent, selection.name.value);
          const below = selection.selectionSet === undefined ? empty() : selectionSetTally(selection.selectionSet, definition === undefined ? undefined : getNamedType(definition.type));
          tally.depth = Math.max(tally.depth, below.depth + 1);
          tally.aliases = add(tally.aliases, add(below.aliases, selection.alias === undefined ? 0 : 1));
          tally.fields = add(tally.fields, add(below.fields, 1));
          tally.cost = add(tally.cost, add(1, multiply(pageSize(selection, definition, variables), below.cost)));
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const type = selection.typeCondition === undefined ? parent : (schema.getType(selection.typeCondition.name.value) ?? undefined);
          include(tally, selectionSetTally(selection.selectionSet, type));
          break;
        }
        case Kind.FRAGMENT_SPREAD:
          include(tally, fragmentTally(selection.name.value));
          break;
      }
    }
    return tally;
  };

  const total = empty();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = definition.operation === 'query' ? schema.getQueryType() : definition.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    include(total, selectionSetTally(definition.selectionSet, root ?? undefined));
  }
  for (const name of fragments.keys()) {
    if (!measured.has(name)) include(total, fragmentTally(name));
  }
  return total;
}

/** The first measure of a query over its limit. */
export interface QueryExcess {
  readonly measure: QueryMeasure;
  readonly figure: number;
  readonly limit: number;
}

/** `QUERY_TOO_COMPLEX` with the measure that went over, its figure and its limit. */
export function queryTooComplex(excess: QueryExcess): ApiError {
  const { measure, figure, limit } = excess;
  return new ApiError(ErrorCode.QUERY_TOO_COMPLEX, `query too complex: ${measure} ${figure} over the limit of ${limit}`, { measure, figure, limit });
}

/** Counts a source's tokens, stopping at the first lexical error. */
function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // The server's own parse reports the syntax error.
  }
  return count;
}

/**
 * Parses `source` with the token limit and measures it: the first measure over its limit, or
 * null. A source that does not parse for another reason passes, and the server answers
 * GRAPHQL_PARSE_FAILED as before.
 */
export function findQueryExcess(schema: GraphQLSchema, source: string, variables: Variables, limits: QueryLimits = QUERY_LIMITS): QueryExcess | null {
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.tokens, noLocation: true });
  } catch {
    // graphql-js stops at limit + 1 tokens; the figure is counted only for a refused source.
    const tokens = countTokens(source);
    return tokens > limits.tokens ? { measure: 'tokens', figure: tokens, limit: limits.tokens } : null;
  }
  const figures = measureQuery(schema, document, variables);
  for (const measure of ['depth', 'aliases', 'fields', 'cost'] as const) {
    if (figures[measure] > limits[measure]) return { measure, figure: figures[measure], limit: limits[measure] };
  }
  return null;
}

/** One operation as a client sent it over HTTP: its source and variables, when they are well-formed. */
interface SentOperation {
  readonly source: string;
  readonly variables: Variables;
}

function asVariables(value: unknown): Variables {
  if (typeof value === 'string') {
    try {
      return asVariables(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Variables) : {};
}

function sentOperation(fields: { query?: unknown; variables?: unknown }): SentOperation[] {
  return typeof fields.query === 'string' ? [{ source: fields.query, variables: asVariables(fields.variables) }] : [];
}

/**
 * The operations of an HTTP GraphQL request, read the way Apollo Server reads them: a GET's
 * `query` and `variables` parameters, a POST's JSON object, or each object of a batch (Apollo
 * refuses batches unless they are enabled, but they are checked all the same). Persisted
 * queries, whose requests carry only a hash, are off (api/server.ts).
 */
export function operationsOf(method: string, search: string, body: unknown): SentOperation[] {
  if (method === 'GET') {
    const parameters = new URLSearchParams(search);
    return sentOperation({ query: parameters.get('query') ?? undefined, variables: parameters.get('variables') ?? undefined });
  }
  const objects = Array.isArray(body) ? (body as unknown[]) : [body];
  return objects.flatMap((object) => (typeof object === 'object' && object !== null ? sentOperation(object as { query?: unknown; variables?: unknown }) : []));
}

/** The first excess of any operation of an HTTP request, or null. */
export function findRequestExcess(schema: GraphQLSchema, method: string, search: string, body: unknown, limits: QueryLimits = QUERY_LIMITS): QueryExcess | null {
  for (const operation of operationsOf(method, search, body)) {
    const excess = findQueryExcess(schema, operation.source, operation.variables, limits);
    if (excess !== null) return excess;
  }
  return null;
}

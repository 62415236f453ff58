import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { Max, Min, MaxLength } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { badInput } from './errors';
import { isId } from './ids';

export const MAX_PAGE_SIZE = 200;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 50, description: `Page size, 1..${MAX_PAGE_SIZE}` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page' })
  @MaxLength(200)
  after?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** A Relay connection type for `NodeType`: `{ edges { cursor node } pageInfo }`. */
export function Connection<T extends object>(name: string, NodeType: ClassType<T>): ClassType<Page<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => String)
    cursor!: string;

    @Field(() => NodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

/** A keyset position: the row's ordering timestamp in microseconds since the epoch, and its id. */
interface Position {
  readonly us: string;
  readonly id: string;
}

function encodeCursor(position: Position): string {
  return Buffer.from(`${position.us}:${position.id}`, 'utf8').toString('base64url');
}

/**
 * The latest time a cursor may name, 9999-12-31 in microseconds: later than any row, and inside
 * both bigint and PostgreSQL's timestamp range, so a crafted cursor can never make the query fail.
 */
const MAX_CURSOR_US = 253_402_300_799_999_999n;

/** A cursor from this list, or BAD_USER_INPUT (never echoing it: it may be a megabyte of anything). */
function decodeCursor(cursor: string): Position {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,18}):(.*)$/s.exec(text);
  if (match === null || BigInt(match[1]) > MAX_CURSOR_US || !isId(match[2])) throw badInput(['after: not a cursor from this list']);
  return { us: match[1], id: match[2] };
}

/**
 * Keyset pagination over `(timeColumn, id)`: stable under concurrent inserts and deletes, and
 * exact to the microsecond (a JavaScript Date would lose PostgreSQL's microseconds and skip rows).
 */
export async function paginate<E extends ObjectLiteral & { id: string }, T>(
  query: SelectQueryBuilder<E>,
  args: PageArgs,
  order: { readonly timeColumn: string; readonly direction: 'ASC' | 'DESC' },
  toNode: (entity: E) => T,
): Promise<Page<T>> {
  const alias = query.alias;
  const time = `${alias}.${order.timeColumn}`;
  const operator = order.direction === 'ASC' ? '>' : '<';
  if (args.after != null) {
    const position = decodeCursor(args.after);
    query.andWhere(
      `(${time}, ${alias}.id) ${operator} (timestamptz 'epoch' + :afterUs::bigint * interval '1 microsecond', :afterId::uuid)`,
      { afterUs: position.us, afterId: position.id },
    );
  }
  query
    .addSelect(`(extract(epoch from ${time}) * 1000000)::bigint::text`, 'page_us')
    .orderBy(time, order.direction)
    .addOrderBy(`${alias}.id`, order.direction)
    .limit(args.first + 1);
  const { entities, raw } = await query.getRawAndEntities<{ page_us: string }>();
  const hasNextPage = entities.length > args.first;
  const edges = entities.slice(0, args.first).map((entity, index) => ({
    cursor: encodeCursor({ us: raw[index].page_us, id: entity.id }),
    node: toNode(entity),
  }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null } };
}

/**
 * The company a list is scoped to: the one asked for (checked by the caller), else the key's own
 * company, else (operators) none, meaning every company.
 */
export function listScope(actor: { readonly kind: 'operator' } | { readonly kind: 'company'; readonly companyId: string }, companyId: string | null): string | null {
  return companyId ?? (actor.kind === 'company' ? actor.companyId : null);
}

/** Turns a page of entities into a page of public types built in one batch. */
export async function mapPage<E, T>(page: Page<E>, toTypes: (entities: E[]) => Promise<T[]>): Promise<Page<T>> {
  const types = await toTypes(page.edges.map((edge) => edge.node));
  return { pageInfo: page.pageInfo, edges: page.edges.map((edge, index) => ({ cursor: edge.cursor, node: types[index] })) };
}

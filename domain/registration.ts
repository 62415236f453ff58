/**
 * The current binding of a trunk: the one calls are sent to (`worker/routing/decide.ts`) and the
 * one the API shows (`api/trunk/trunk.service.ts`). One rule for both: **the unexpired binding
 * refreshed last**. A PBX that moved (a new public address, a new Contact) registers from where it
 * is now, while the binding it left may stay unexpired for up to an hour; the last REGISTER is the
 * best evidence of where the PBX is. The registrar orders its 200's Contact list and keeps its
 * newest bindings by the same column.
 *
 * "Last" compares `updated_at` at millisecond precision, which is what the worker snapshot holds;
 * ties go to the lower id (uuids compare alike as text and in PostgreSQL).
 */

/** Epoch milliseconds of a timestamptz column, as the worker snapshot reads it and the API orders by it. */
export function epochMsSql(column: string): string {
  return `floor(extract(epoch FROM ${column}) * 1000)::float8`;
}

/** The `ORDER BY` terms that put the current binding first, `alias` naming the registration table. */
export function currentBindingOrder(alias: string): readonly (readonly [expression: string, direction: 'ASC' | 'DESC'])[] {
  return [
    [epochMsSql(`${alias}.updated_at`), 'DESC'],
    [`${alias}.id`, 'ASC'],
  ];
}

/** The same order over bindings in memory: refreshed last first, ties by the lower id. */
export function newestFirst(a: { readonly updatedAt: number; readonly id: string }, b: { readonly updatedAt: number; readonly id: string }): number {
  return b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

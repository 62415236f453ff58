import { In, Not, QueryFailedError, type EntityManager } from 'typeorm';
import { Did } from '../schema/entities/did.entity';
import { toE164 } from '../domain/phone-number';
import { quoteInput } from '../domain/quote-input';
import { badInput, conflict } from './errors';

/** Normalises numbers to E.164 (dropping duplicates), or fails listing every invalid one. */
export function normaliseNumbers(inputs: readonly string[], field: string): string[] {
  const problems: string[] = [];
  const numbers = new Set<string>();
  inputs.forEach((input, index) => {
    const number = toE164(input);
    if (number === null) problems.push(`${field}[${index}]: ${quoteInput(input)} is not a valid international (E.164) number`);
    else numbers.add(number);
  });
  if (problems.length > 0) throw badInput(problems);
  return [...numbers];
}

export type NumberOwner = { readonly trunkId: string } | { readonly dialPlanId: string };

/**
 * Makes `numbers` exactly the set routed to `owner`, inside the caller's transaction. A number
 * already routed elsewhere on the platform is a CONFLICT naming the number.
 */
export async function replaceNumbers(manager: EntityManager, owner: NumberOwner, numbers: readonly string[]): Promise<void> {
  const ownerWhere = 'trunkId' in owner ? { trunkId: owner.trunkId } : { dialPlanId: owner.dialPlanId };
  await manager.delete(Did, numbers.length === 0 ? ownerWhere : { ...ownerWhere, number: Not(In([...numbers])) });
  const existing = new Set((await manager.findBy(Did, ownerWhere)).map((did) => did.number));
  const added = numbers.filter((number) => !existing.has(number));
  if (added.length === 0) return;
  try {
    await manager.insert(
      Did,
      added.map((number) => ({
        number,
        trunkId: 'trunkId' in owner ? owner.trunkId : null,
        dialPlanId: 'dialPlanId' in owner ? owner.dialPlanId : null,
      })),
    );
  } catch (error) {
    const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; detail?: string }) : undefined;
    if (driverError?.code === '23505') {
      const number = /\(number\)=\(([^)]+)\)/.exec(driverError.detail ?? '')?.[1];
      throw conflict(number === undefined ? 'a number is already in use on the platform' : `number ${number} is already in use on the platform`);
    }
    throw error;
  }
}

/** The numbers of many owners at once, keyed by owner id. */
export async function numbersOf(manager: EntityManager, key: 'trunkId' | 'dialPlanId', ids: readonly string[]): Promise<Map<string, string[]>> {
  const byOwner = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byOwner;
  const dids = await manager.find(Did, { where: { [key]: In([...ids]) }, order: { number: 'ASC' } });
  for (const did of dids) byOwner.get(did[key] as string)?.push(did.number);
  return byOwner;
}

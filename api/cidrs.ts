import { parseCidr } from '../domain/cidr';
import { badInput } from './errors';

/** Each input as a canonical CIDR, duplicates dropped, order kept; every bad one named at `field[i]`. */
export function canonicalCidrs(inputs: readonly string[], field: string): string[] {
  const problems: string[] = [];
  const cidrs = new Set<string>();
  inputs.forEach((input, index) => {
    const result = parseCidr(input);
    if (result.ok) cidrs.add(result.cidr);
    else problems.push(`${field}[${index}]: ${result.reason}`);
  });
  if (problems.length > 0) throw badInput(problems);
  return [...cidrs];
}

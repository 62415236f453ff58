import { badInput } from './errors';

/** A display name: trimmed, never blank. Left out (null/undefined) stays left out. */
export function checkName(name: string | null | undefined): string | undefined {
  if (name == null) return undefined;
  if (name.trim() === '') throw badInput(['name must not be blank']);
  return name.trim();
}

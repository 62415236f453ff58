import { hasControlCharacter } from '../domain/control-characters';
import { badInput } from './errors';

/**
 * A display name: trimmed, never blank, no control characters (a name is shown in panels, logs
 * and exports). Left out (null/undefined) stays left out. Problems never echo the value.
 */
export function checkName(name: string | null | undefined): string | undefined {
  if (name == null) return undefined;
  if (hasControlCharacter(name)) throw badInput(['name: must not contain control characters']);
  if (name.trim() === '') throw badInput(['name: must not be blank']);
  return name.trim();
}

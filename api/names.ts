import { badInput } from './errors';

/**
 * True for C0 controls (U+0000..U+001F), DEL and C1 controls (U+0080..U+009F). A name is shown
 * in panels, logs and exports; none of these belongs in one, and PostgreSQL cannot store U+0000.
 */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * A display name: trimmed, never blank, no control characters. Left out (null/undefined) stays
 * left out. Problems name the field and never echo the value.
 */
export function checkName(name: string | null | undefined, field = 'name'): string | undefined {
  if (name == null) return undefined;
  if (hasControlCharacter(name)) throw badInput([`${field}: must not contain control characters`]);
  if (name.trim() === '') throw badInput([`${field}: must not be blank`]);
  return name.trim();
}

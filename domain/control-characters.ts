/**
 * C0 controls (U+0000..U+001F), DEL (U+007F) and C1 controls (U+0080..U+009F): never meaningful
 * in a name, a password, a Contact or a call record, and PostgreSQL cannot store U+0000 at all.
 * One definition for the API's input rules and the SIP role's sanitising.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/** Who is calling: resolved from the API key once per request and passed to every service call. */
export type Actor =
  | { readonly kind: 'operator'; readonly keyId: string | null }
  | { readonly kind: 'company'; readonly keyId: string; readonly companyId: string };

export function isOperator(actor: Actor): actor is Extract<Actor, { kind: 'operator' }> {
  return actor.kind === 'operator';
}

/** True when the actor may see objects of `companyId`. */
export function canAccessCompany(actor: Actor, companyId: string): boolean {
  switch (actor.kind) {
    case 'operator':
      return true;
    case 'company':
      return actor.companyId === companyId;
    default: {
      const unknown: never = actor;
      return unknown;
    }
  }
}

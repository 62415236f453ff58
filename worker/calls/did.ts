import { e164FromUserPart } from '../../domain/phone-number';
import { requestUser } from './proxy';

/**
 * The dialled number from a Request-URI user part, in E.164 form (DESIGN section 4 step 2).
 * Carriers send `+442079460000`, `442079460000` or `00442079460000`, sometimes with visual
 * separators or a parameter (`;npdi`): all name the same number. Only the form is normalised
 * here: the number is then looked up among the configured ones, which were validated when they
 * were configured, so an unknown or invalid number is simply not found (404). National forms
 * cannot be told from international ones without a country, so the country code is required.
 */
export function didFromRequestUser(user: string | null): string | null {
  return user === null ? null : e164FromUserPart(user);
}

/** What a call was dialled to: the DID (E.164, or null) and the Request-URI user as received. */
export interface Dialled {
  readonly did: string | null;
  /** The Request-URI user, or the whole URI when it has none. */
  readonly dialled: string;
}

export function dialledOf(requestUri: string): Dialled {
  const user = requestUser(requestUri);
  return { did: didFromRequestUser(user), dialled: user ?? requestUri };
}

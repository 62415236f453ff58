import { toE164 } from '../../domain/phone-number';

/**
 * The dialled number from a Request-URI user part, in E.164 (DESIGN section 4 step 2).
 * Carriers send `+442079460000`, `442079460000` or `00442079460000`, sometimes with visual
 * separators or a `;npdi`-style parameter: all name the same number. National forms cannot be
 * told apart from international ones without a country, so a number must carry its country code.
 */
export function didFromRequestUser(user: string | null): string | null {
  if (user === null) return null;
  const bare = user.split(';')[0].replace(/[\s\-().]/g, '');
  if (/^\+[0-9]{7,15}$/.test(bare)) return toE164(bare);
  if (/^00[1-9][0-9]{6,14}$/.test(bare)) return toE164(`+${bare.slice(2)}`);
  if (/^[1-9][0-9]{7,14}$/.test(bare)) return toE164(`+${bare}`);
  return null;
}

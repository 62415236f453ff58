import { normaliseWebhook, RESERVED_WEBHOOK_EXITS, webhookExits, webhookProblems, type WebhookDraft, type WebhookSettings } from '../../webhook';
import type { AppDefinition } from '../flow';

/**
 * WEBHOOK: POST the call's facts to the customer's URL; the answer names the exit (domain/webhook.ts).
 * Its exits are the names the step declares plus `success` and `failure`.
 *
 * It does not count as waiting for the loop check: an HTTP exchange takes time, but a loop made of
 * webhooks (and other apps that do not wait) would send request after request to the customer's
 * server at the pace it answers, so such a loop is refused like any loop that cannot hold the call.
 */
export type { WebhookDraft, WebhookSettings } from '../../webhook';

/** A UTF-16 surrogate without its pair: not a character, so not part of any text the customer can share. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const webhookApp: AppDefinition<'webhook', WebhookSettings, WebhookDraft> = {
  settingsKey: 'webhook',
  exits: RESERVED_WEBHOOK_EXITS,
  waits: false,
  exitsOf: (draft) => webhookExits({ exits: Array.isArray(draft.exits) ? draft.exits : [] }),
  normalise(draft, at, problems, context) {
    const found = webhookProblems(draft, at, context?.webhookAllowedNetworks ?? []);
    // The secret is an HMAC key the customer's server holds too, and it is stored as JSON, which
    // PostgreSQL refuses with a lone surrogate in it: it must be well-formed text.
    if (typeof draft.secret === 'string' && LONE_SURROGATE.test(draft.secret)) found.push(`${at}.secret: not well-formed Unicode text`);
    problems.push(...found);
    return found.length === 0 ? normaliseWebhook(draft) : null;
  },
};

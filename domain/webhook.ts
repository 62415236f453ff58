import { createHmac } from 'node:crypto';
import { hasControlCharacter } from './control-characters';
import { judgeDestination } from './network-policy';
import { quoteInput } from './quote-input';

/**
 * The settings of a WEBHOOK step, the request it sends and how its answer chooses an exit. Pure:
 * the instant, the operator's allowed networks and the answer are passed in; the HTTP exchange
 * lives in net/webhook-client.ts.
 *
 * Decisions (see docs/decisions.md, "Webhooks"):
 * - The URL is stored in its parsed, canonical form (`new URL(...).href`): what is stored is what
 *   is requested. Whitespace and control characters are refused rather than silently dropped.
 * - A URL whose host is an IP literal is judged against the destination rule when it is saved; a
 *   host name is judged on every address it resolves to, on every call.
 * - The answer may name a declared exit or a reserved one (`success`, `failure`). An empty 2xx
 *   body, a JSON object without `exit`, or with `exit: null`, takes `success`. Every other answer
 *   takes `failure`: a status outside 2xx (redirects are not followed), a body that is not a
 *   JSON object, an `exit` that is not a string or names no exit of the step, and every failure
 *   to get an answer at all.
 */

export const WEBHOOK_SUCCESS_EXIT = 'success';
export const WEBHOOK_FAILURE_EXIT = 'failure';
export const RESERVED_WEBHOOK_EXITS: readonly string[] = [WEBHOOK_SUCCESS_EXIT, WEBHOOK_FAILURE_EXIT];

export const WEBHOOK_TIMEOUT_DEFAULT_SECONDS = 3;
export const WEBHOOK_TIMEOUT_MIN_SECONDS = 1;
export const WEBHOOK_TIMEOUT_MAX_SECONDS = 10;
/** Longer than any URL a browser keeps in its address bar; keeps a stored step small. */
export const MAX_WEBHOOK_URL_CHARS = 2048;
/** An HMAC key shorter than this is guessable; longer than this is a paste mistake. */
export const MIN_WEBHOOK_SECRET_CHARS = 16;
export const MAX_WEBHOOK_SECRET_CHARS = 256;
export const MAX_WEBHOOK_EXITS = 10;
/** The answer is read up to this many bytes; a longer one takes `failure`. */
export const MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;
/** The header carrying the signature. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Signature';

/** Exit names follow step ids: letters, digits, `_` and `-`. */
const EXIT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface WebhookSettings {
  /** http or https, canonical (`URL.href`). */
  readonly url: string;
  readonly timeoutSeconds: number;
  /** Signs the request when set. */
  readonly secret: string | null;
  /** The exits the customer declared, besides `success` and `failure`. */
  readonly exits: readonly string[];
}

export interface WebhookDraft {
  readonly url: string;
  readonly timeoutSeconds?: number | null;
  readonly secret?: string | null;
  readonly exits?: readonly string[] | null;
}

function urlProblems(text: string, at: string, allowedCidrs: readonly string[]): string[] {
  if (text.length > MAX_WEBHOOK_URL_CHARS) return [`${at}.url: at most ${MAX_WEBHOOK_URL_CHARS} characters`];
  if (hasControlCharacter(text) || /\s/.test(text)) return [`${at}.url: ${quoteInput(text)} contains whitespace or control characters`];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [`${at}.url: ${quoteInput(text)} is not an absolute URL`];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [`${at}.url: ${quoteInput(text)} is not an http or https URL`];
  const problems: string[] = [];
  if (url.username !== '' || url.password !== '') problems.push(`${at}.url: a user name or password in the URL is not allowed; use the secret`);
  if (url.port === '0') problems.push(`${at}.url: port 0 is not a port`);
  if (url.hash !== '') problems.push(`${at}.url: a fragment (#...) is never sent; remove it`);
  const host = hostAddress(url);
  if (host !== null) {
    const verdict = judgeDestination(host, allowedCidrs);
    if (!verdict.allowed) problems.push(`${at}.url: the address ${host} is ${verdict.reason}`);
  }
  return problems;
}

/** The URL's host when it is an IP literal (the URL parser has already canonicalised `127.1` and friends), else null. */
export function hostAddress(url: URL): string | null {
  const host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return /^[0-9.]+$/.test(host) ? host : null;
}

/**
 * Every problem in a draft, each naming its field path under `at` (e.g. `flow.steps[2].webhook`)
 * and the rule it breaks. The secret is never quoted back.
 */
export function webhookProblems(draft: WebhookDraft, at: string, allowedCidrs: readonly string[]): string[] {
  const problems = urlProblems(draft.url, at, allowedCidrs);
  const timeout = draft.timeoutSeconds;
  if (timeout != null && (!Number.isInteger(timeout) || timeout < WEBHOOK_TIMEOUT_MIN_SECONDS || timeout > WEBHOOK_TIMEOUT_MAX_SECONDS)) {
    problems.push(`${at}.timeoutSeconds: a whole number from ${WEBHOOK_TIMEOUT_MIN_SECONDS} to ${WEBHOOK_TIMEOUT_MAX_SECONDS}`);
  }
  const secret = draft.secret;
  if (secret != null) {
    if (secret.length < MIN_WEBHOOK_SECRET_CHARS || secret.length > MAX_WEBHOOK_SECRET_CHARS) {
      problems.push(`${at}.secret: ${MIN_WEBHOOK_SECRET_CHARS} to ${MAX_WEBHOOK_SECRET_CHARS} characters`);
    } else if (hasControlCharacter(secret)) {
      problems.push(`${at}.secret: control characters are not allowed`);
    }
  }
  const exits = draft.exits ?? [];
  if (exits.length > MAX_WEBHOOK_EXITS) {
    problems.push(`${at}.exits: at most ${MAX_WEBHOOK_EXITS} exits besides ${RESERVED_WEBHOOK_EXITS.join(' and ')}`);
    return problems;
  }
  exits.forEach((name, i) => {
    if (!EXIT_NAME.test(name)) problems.push(`${at}.exits[${i}]: ${quoteInput(name)} must be 1..64 letters, digits, "_" or "-"`);
    else if (RESERVED_WEBHOOK_EXITS.includes(name)) problems.push(`${at}.exits[${i}]: ${name} is always an exit of a webhook; do not declare it`);
    else if (exits.indexOf(name) < i) problems.push(`${at}.exits[${i}]: ${name} is given twice`);
  });
  return problems;
}

/** The stored form of a draft that webhookProblems accepted. */
export function normaliseWebhook(draft: WebhookDraft): WebhookSettings {
  return {
    url: new URL(draft.url).href,
    timeoutSeconds: draft.timeoutSeconds ?? WEBHOOK_TIMEOUT_DEFAULT_SECONDS,
    secret: draft.secret ?? null,
    exits: [...(draft.exits ?? [])],
  };
}

/** Every exit a webhook step has: the declared ones, then `success` and `failure`. */
export function webhookExits(settings: Pick<WebhookSettings, 'exits'>): string[] {
  return [...settings.exits, ...RESERVED_WEBHOOK_EXITS];
}

/** The call's facts the request carries. */
export interface WebhookCallFacts {
  readonly callId: string;
  readonly companyId: string;
  readonly trunkId: string | null;
  /** The dialled number, E.164. */
  readonly did: string;
  /** The caller's number, E.164, or null when anonymous. */
  readonly caller: string | null;
  readonly failoverReason: string | null;
  /** When the step ran. */
  readonly at: Date;
}

/** The JSON request body; `at` as an ISO 8601 UTC instant. Keys in a fixed order, so a signature is reproducible. */
export function webhookRequestBody(facts: WebhookCallFacts): string {
  return JSON.stringify({
    callId: facts.callId,
    companyId: facts.companyId,
    trunkId: facts.trunkId,
    did: facts.did,
    caller: facts.caller,
    failoverReason: facts.failoverReason,
    at: facts.at.toISOString(),
  });
}

/**
 * The `X-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The time is
 * signed with the body, so a receiver can refuse a replayed request by its age.
 */
export function webhookSignature(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Why no answer came back: each takes `failure`. */
export type WebhookFailure =
  | 'INVALID_URL'
  | 'DNS_FAILED'
  | 'REFUSED_DESTINATION'
  | 'CONNECTION_FAILED'
  | 'TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  /** The call ended while the request was out: it was aborted, and its exit leads nowhere. */
  | 'CALL_ENDED';

/** What the HTTP exchange produced: an answer (status and body text) or the failure that prevented one. */
export type WebhookAnswer =
  | { readonly kind: 'answer'; readonly status: number; readonly body: string }
  | { readonly kind: 'failure'; readonly failure: WebhookFailure; readonly detail?: string };

/** The exit taken and, for the log line and the call record, why. */
export interface WebhookExit {
  readonly exit: string;
  readonly why: string;
}

/** The exit an answer takes on a step with these declared exits. */
export function webhookExit(answer: WebhookAnswer, declaredExits: readonly string[]): WebhookExit {
  if (answer.kind === 'failure') return { exit: WEBHOOK_FAILURE_EXIT, why: answer.failure };
  if (answer.status < 200 || answer.status > 299) return { exit: WEBHOOK_FAILURE_EXIT, why: `status ${answer.status}` };
  if (answer.body.trim() === '') return { exit: WEBHOOK_SUCCESS_EXIT, why: 'no exit named' };
  let value: unknown;
  try {
    value = JSON.parse(answer.body);
  } catch {
    return { exit: WEBHOOK_FAILURE_EXIT, why: 'body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { exit: WEBHOOK_FAILURE_EXIT, why: 'body is not a JSON object' };
  // Own property only: an inherited `exit` is not an answer.
  const exit = Object.hasOwn(value, 'exit') ? (value as Record<string, unknown>).exit : undefined;
  if (exit === undefined || exit === null) return { exit: WEBHOOK_SUCCESS_EXIT, why: 'no exit named' };
  if (typeof exit !== 'string') return { exit: WEBHOOK_FAILURE_EXIT, why: 'exit is not a string' };
  if (declaredExits.includes(exit) || RESERVED_WEBHOOK_EXITS.includes(exit)) return { exit, why: 'named by the answer' };
  return { exit: WEBHOOK_FAILURE_EXIT, why: `unknown exit ${quoteInput(exit)}` };
}

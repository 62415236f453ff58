import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { judgeDestination } from '../domain/network-policy';
import {
  hostAddress,
  MAX_WEBHOOK_RESPONSE_BYTES,
  WEBHOOK_SIGNATURE_HEADER,
  webhookSignature,
  type WebhookAnswer,
  type WebhookFailure,
} from '../domain/webhook';
import { systemClock, type Clock, type Timer } from '../worker/clock';

/**
 * Sends one signed webhook request and reads its answer: a WEBHOOK step's, for one call (SIP
 * worker), or a trunk event to a webhook endpoint (API role). Shared by both roles. Never throws: every way the
 * exchange can fail is a WebhookAnswer of kind `failure`, which domain/webhook.ts turns into an exit.
 *
 * - The host name is resolved here, every address is judged by the destination rule, and the
 *   socket connects to the checked address only (the `lookup` passed to `http.request` answers
 *   with it), so a DNS answer that changes between check and connect (rebinding) reaches nothing.
 * - One timer bounds the whole exchange, resolution included: the step's `timeoutSeconds`.
 * - The answer is read up to `maxResponseBytes`; a longer one is cut off and fails.
 * - Redirects are not followed (node:http never does): a 3xx is an answer outside 2xx.
 * - No connection is pooled: each request resolves, checks and connects afresh.
 * - The call's end aborts the exchange (the `signal`): the connection is closed at once and the
 *   answer is `CALL_ENDED`, so no request outlives the call it was made for.
 */

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses; rejects when it cannot. */
export type Resolve = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** getaddrinfo on libuv's thread pool: async, and it reads /etc/hosts as every other client on the host does. */
export const systemResolve: Resolve = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

export interface WebhookRequest {
  /** http or https, as stored on the step. */
  readonly url: string;
  readonly timeoutSeconds: number;
  readonly secret: string | null;
  /** The JSON body (webhookRequestBody). */
  readonly body: string;
  /** The operator's allowed networks, from the snapshot the call started with. */
  readonly allowedCidrs: readonly string[];
}

export interface WebhookClientDeps {
  readonly resolve?: Resolve;
  /** `now()` signs the request; `after()` is the total timeout. */
  readonly clock?: Clock;
  readonly maxResponseBytes?: number;
}

export interface WebhookClient {
  /** `signal`: aborted when the call ends; the exchange stops there. */
  send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookAnswer>;
}

const USER_AGENT = 'trunk-failover-webhook';

function failure(kind: WebhookFailure, detail?: string): WebhookAnswer {
  return detail === undefined ? { kind: 'failure', failure: kind } : { kind: 'failure', failure: kind, detail };
}

/** A lookup that answers every query with the one address already checked. */
function pinnedLookup(target: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    // With autoSelectFamily (Node 20's default) net asks for all addresses and expects a list.
    if (typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true) {
      (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}

export function createWebhookClient(deps: WebhookClientDeps = {}): WebhookClient {
  const resolve = deps.resolve ?? systemResolve;
  const clock = deps.clock ?? systemClock;
  const maxResponseBytes = deps.maxResponseBytes ?? MAX_WEBHOOK_RESPONSE_BYTES;

  async function addressesOf(url: URL): Promise<readonly ResolvedAddress[] | WebhookAnswer> {
    const literal = hostAddress(url);
    if (literal !== null) return [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
    try {
      const addresses = await resolve(url.hostname);
      return addresses.length === 0 ? failure('DNS_FAILED', 'no address') : addresses;
    } catch (error) {
      return failure('DNS_FAILED', (error as NodeJS.ErrnoException)?.code ?? 'lookup failed');
    }
  }

  function exchange(url: URL, target: ResolvedAddress, request: WebhookRequest, settle: (answer: WebhookAnswer) => void): http.ClientRequest {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(request.body, 'utf8')),
      'user-agent': USER_AGENT,
    };
    if (request.secret !== null) headers[WEBHOOK_SIGNATURE_HEADER] = webhookSignature(request.secret, request.body, clock.now() / 1000);
    const transport = url.protocol === 'https:' ? https : http;
    const outgoing = transport.request({
      method: 'POST',
      protocol: url.protocol,
      // The name stays the name: the Host header and TLS SNI/certificate check use it; only `lookup` picks the address.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
      lookup: pinnedLookup(target),
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => settle(failure('CONNECTION_FAILED', error.code ?? 'request failed')));
    outgoing.on('response', (incoming) => {
      const status = incoming.statusCode ?? 0;
      if (status < 200 || status > 299) {
        // The body of a refusal or redirect says nothing the exit needs: not read.
        settle({ kind: 'answer', status, body: '' });
        incoming.destroy();
        return;
      }
      const declared = Number(incoming.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxResponseBytes) {
        settle(failure('RESPONSE_TOO_LARGE', `content-length ${declared}`));
        incoming.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      incoming.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxResponseBytes) {
          settle(failure('RESPONSE_TOO_LARGE', `more than ${maxResponseBytes} bytes`));
          incoming.destroy();
          return;
        }
        chunks.push(chunk);
      });
      incoming.on('end', () => settle({ kind: 'answer', status, body: Buffer.concat(chunks).toString('utf8') }));
      incoming.on('error', (error: NodeJS.ErrnoException) => settle(failure('CONNECTION_FAILED', error.code ?? 'response failed')));
    });
    outgoing.end(request.body);
    return outgoing;
  }

  return {
    send(request, signal) {
      return new Promise<WebhookAnswer>((resolveAnswer) => {
        let done = false;
        let timer: Timer | null = null;
        let outgoing: http.ClientRequest | null = null;
        const ended = (): void => settle(failure('CALL_ENDED'));
        const settle = (answer: WebhookAnswer): void => {
          if (done) return;
          done = true;
          timer?.cancel();
          signal?.removeEventListener('abort', ended);
          // Destroying the request closes its socket (agent: false): the server sees the connection end.
          outgoing?.destroy();
          resolveAnswer(answer);
        };
        if (signal?.aborted === true) {
          settle(failure('CALL_ENDED'));
          return;
        }
        signal?.addEventListener('abort', ended, { once: true });
        let url: URL;
        try {
          url = new URL(request.url);
        } catch {
          settle(failure('INVALID_URL'));
          return;
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          settle(failure('INVALID_URL'));
          return;
        }
        timer = clock.after(request.timeoutSeconds * 1000, () => settle(failure('TIMEOUT')));
        void addressesOf(url).then((addresses) => {
          if (done) return;
          if (!Array.isArray(addresses)) {
            settle(addresses as WebhookAnswer);
            return;
          }
          // Every address is judged, not only the one used: a name that also points inside is refused.
          for (const entry of addresses as readonly ResolvedAddress[]) {
            const verdict = judgeDestination(entry.address, request.allowedCidrs);
            if (!verdict.allowed) {
              settle(failure('REFUSED_DESTINATION', `${entry.address}: ${verdict.reason}`));
              return;
            }
          }
          try {
            outgoing = exchange(url, (addresses as readonly ResolvedAddress[])[0], request, settle);
          } catch (error) {
            settle(failure('CONNECTION_FAILED', (error as Error).message));
          }
        }).catch((error: unknown) => settle(failure('CONNECTION_FAILED', error instanceof Error ? error.message : String(error))));
      });
    },
  };
}

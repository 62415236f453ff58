import { isIP } from 'node:net';
import { parseSipUri, uriHostPort } from '../../domain/sip-uri';
import type { Endpoint } from '../sip/message';

/**
 * The Request-URI a FORWARD target is rung at: a `sip:` URI as it is; an E.164 number as the
 * user part of the operator's outbound gateway URI (`sip:+442079460000@gw.example:5060`).
 * Null when a number has no gateway to leave through, or the target is not usable.
 */
export function forwardRequestUri(target: string, outboundGateway: string | null): string | null {
  if (target.startsWith('+')) {
    if (outboundGateway === null) return null;
    const gateway = parseSipUri(outboundGateway);
    if (gateway === null) return null;
    return `sip:${target}@${uriHostPort(gateway)}${gateway.params}`;
  }
  return parseSipUri(target) === null ? null : target;
}

/** Send straight to an IP-literal URI host; null: a host name, resolved by the stack. */
export function literalDestination(uri: string): Endpoint | null {
  const parsed = parseSipUri(uri);
  if (parsed === null || isIP(parsed.host) === 0) return null;
  return { address: parsed.host, port: parsed.port ?? 5060 };
}

import type { NameAddr } from './message';

/**
 * A copy of `value` that keeps nothing else alive. A header value parsed from a datagram is a
 * slice of the whole datagram's text in V8 (any substring of 13 characters or more), so a Call-ID
 * or a tag kept for the 32 s a finished call lingers would keep its message's whole text with
 * it. The concatenation is flattened into a new string of its own before it is sliced again.
 */
export function ownString(value: string): string {
  return ` ${value}`.slice(1);
}

/** A name-addr (From, To) made of strings of its own. */
export function ownNameAddr(value: NameAddr): NameAddr {
  const params: NameAddr['params'] = {};
  for (const [key, param] of Object.entries(value.params)) params[ownString(key)] = typeof param === 'string' ? ownString(param) : param;
  const copy: NameAddr = { uri: ownString(value.uri), params };
  if (value.name !== undefined) copy.name = ownString(value.name);
  return copy;
}

/** At most this many characters of an input value are echoed back in an error message. */
export const MAX_QUOTED_CHARS = 64;

/**
 * An input value as an error message may show it: JSON-quoted (so control characters show as
 * escapes and cannot forge log lines or terminals), and cut to MAX_QUOTED_CHARS with an ellipsis,
 * so a megabyte of input never comes back as a megabyte of answer.
 */
export function quoteInput(value: string): string {
  if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
  let cut = value.slice(0, MAX_QUOTED_CHARS);
  // Never split a surrogate pair: a lone high surrogate would not survive UTF-8.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return JSON.stringify(`${cut}…`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else cannot name an object, and is answered as an unknown id. */
export function isId(value: string): boolean {
  return UUID.test(value);
}

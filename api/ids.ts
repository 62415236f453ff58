import { isUuid } from '../domain/uuid';

/** Ids are uuids; anything else cannot name an object, and is answered as an unknown id. */
export const isId = isUuid;

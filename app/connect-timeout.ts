/**
 * How long any connection to PostgreSQL may take to open, in both roles. A database host that
 * drops packets would otherwise hold an API request, a REGISTER or a call-record write until the
 * kernel's TCP timeout (minutes); failing after 5 s lets each answer "unavailable" and retry.
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 5_000;

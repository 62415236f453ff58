/**
 * The SIP timer values the call path uses, in one place, derived from T1 where RFC 3261 does.
 */
export const T1_MS = 500;

/** T4 (RFC 3261 Table 4): the longest a message stays in the network; Timers I and K on UDP. */
export const T4_MS = 5_000;

/** Timer C (RFC 3261 section 16.6 step 11): a ringing branch with no final response is cancelled. */
export const TIMER_C_MS = 180_000;

/** How long a cancelled branch may take to answer 487 before it is given up (64*T1, section 17.1.1.2). */
export const CANCEL_GRACE_MS = 64 * T1_MS;

/** An ended dialog is kept this long to absorb retransmitted BYEs and their responses (64*T1). */
export const DIALOG_LINGER_MS = 64 * T1_MS;

/**
 * The shortest session interval we carry a call on (RFC 4028 section 5: Min-SE, never below 90 s).
 * A caller that asks for less and understands 422 gets it with this value (section 8.1).
 */
export const MIN_SE_S = 90;

/**
 * The session interval we put into an INVITE that carries none (RFC 4028 section 8.1 lets a proxy
 * insert one): the value the RFC recommends (section 4), so a dead call is noticed within the hour.
 */
export const SESSION_EXPIRES_S = 1800;

/**
 * The longest session interval we let through: a day, the longest maximum call length. A longer
 * Session-Expires is lowered to it (RFC 4028 section 8.1 lets a proxy lower one), and no 2xx is
 * read as longer, so a dead call never holds its channel for more than a day, and the timer stays
 * within what a Node.js timer can count (2^31 - 1 ms).
 */
export const MAX_SESSION_EXPIRES_S = 86_400;

/**
 * After a session's expiry we wait this long, at most, before ending it ourselves: the side that
 * does not refresh sends its BYE up to min(32 s, interval / 3) before expiry (RFC 4028 section
 * 10), and a refresh sent late is still in its transaction (64*T1).
 */
export const SESSION_GRACE_S = 32;

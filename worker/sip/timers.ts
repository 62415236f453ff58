/**
 * The SIP timer values the call path uses, in one place, derived from T1 where RFC 3261 does.
 */
export const T1_MS = 500;

/** Timer C (RFC 3261 section 16.6 step 11): a ringing branch with no final response is cancelled. */
export const TIMER_C_MS = 180_000;

/** How long a cancelled branch may take to answer 487 before it is given up (64*T1, section 17.1.1.2). */
export const CANCEL_GRACE_MS = 64 * T1_MS;

/** An ended dialog is kept this long to absorb retransmitted BYEs and their responses (64*T1). */
export const DIALOG_LINGER_MS = 64 * T1_MS;

/**
 * A confirmed dialog with no BYE after this long is ended by us (its channel given back): a
 * lost BYE must not hold a channel forever. Longer than any call a trunk carries.
 */
export const MAX_CALL_DURATION_MS = 12 * 60 * 60 * 1000;

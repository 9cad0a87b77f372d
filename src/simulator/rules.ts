/**
 * The simulator's documented business constants. Galileo takes these from product configuration;
 * the simulator fixes them so every endpoint code can be reached from a known request sequence.
 */

/** BIN of every PAN the simulator issues (cards are Luhn-valid 16-digit PANs). */
export const CARD_BIN = '487093';

/** loadAmount above this is refused outright: 407-04. */
export const MAX_LOAD_AMOUNT = 5000;

/**
 * Daily load limit per customer (customer = idType+id when an id is sent, else the new account).
 * Above the remaining allowance the load is partial (407-14); with no allowance left it is delayed
 * to tomorrow (407-15).
 */
export const DAILY_LOAD_LIMIT = 2500;

/** A primary account accepts this many secondary accounts; one more is 407-09. */
export const MAX_SECONDARY_ACCOUNTS = 3;

/** Lifetime of an on-demand-alert verification PIN; confirming later is 476-04. */
export const PIN_TTL_MS = 10 * 60 * 1000;

/** Galileo remembers a successful transactionId for 90 days (status 24 within that window). */
export const DUPLICATE_WINDOW_MS = 90 * 24 * 60 * 60 * 1000;

/** getCallStatus finds calls this recent only (Galileo: "less than 2 days old"). */
export const CALL_STATUS_WINDOW_MS = 2 * 24 * 60 * 60 * 1000;

/** Request bodies above this get a plain 413 (Galileo's edge would refuse them too). */
export const BODY_LIMIT_BYTES = 1024 * 1024;

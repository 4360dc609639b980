/** The webhook's fixed route and limits. */

/** The only route: `POST /trigger`. */
export const TRIGGER_PATH = '/trigger';
/** Bodies larger than this (after base64 decoding) are refused with 413: 64 KiB. */
export const MAX_BODY_BYTES = 64 * 1024;
/** A signature's timestamp may be this far in the past or the future: 5 minutes. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

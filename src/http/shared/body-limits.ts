/**
 * Body limits of the routes anyone may call without a key or a session (sign-up, sign-in, invite lookups, exposure
 * reports): what their largest honest body needs, far below TOLLGATE_BODY_LIMIT (10 MiB), which a caller with no
 * credentials could otherwise make the server read and parse on every connection it opens.
 */
export const SIGN_IN_BODY_LIMIT = 64 * 1024;
/** An exposure report lists many matches at once (GitHub's secret scanning batches them). */
export const EXPOSURE_REPORT_BODY_LIMIT = 1024 * 1024;

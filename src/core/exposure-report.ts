// The caps on a report of an exposed key (POST /v1/organization/api_keys/report_exposed and the partner endpoint), in
// one place: the server refuses past them, and `tollgate scan --report` must never send what it would refuse.

/** The longest `url` a report may carry (where the key was found). */
export const MAX_EXPOSED_URL_LENGTH = 2048;
/** The longest `source` a report may carry. */
export const MAX_EXPOSURE_SOURCE_LENGTH = 256;
/** The longest `type` a report may carry. */
export const MAX_EXPOSURE_TYPE_LENGTH = 128;

// A Tollgate secret's shape, without Node's crypto (key-format.ts makes and checks secrets; this module also reaches
// the dashboard's bundle through errors.ts). Secret layout: prefix + 40 random base62 chars (~238 bits) + 6-char
// base62 CRC32 of the random part.

export const PROJECT_KEY_PREFIX = 'sk-tg-';
export const ADMIN_KEY_PREFIX = 'sk-tg-admin-';
export const SECRET_RANDOM_LENGTH = 40;
export const CHECKSUM_LENGTH = 6;

/** The published pattern for Tollgate secrets (project and admin), usable by gitleaks/secretlint. */
export const SECRET_PATTERN_SOURCE = 'sk-tg-(?:admin-)?[0-9A-Za-z]{46}';

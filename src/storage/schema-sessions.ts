/** Tables of dashboard accounts (see migrations-sessions.ts). */
// biome-ignore lint/suspicious/noEmptyInterface: filled as the session tables land
export interface SessionTables {}

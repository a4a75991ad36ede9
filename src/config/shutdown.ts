// How a SIGTERM ends (server.ts, main.ts): requests get TOLLGATE_SHUTDOWN_GRACE_MS, then their connections are cut;
// requests cut so are metered once their relay has ended (a stream's delivered text counted by the tokenizer), and
// the shutdown waits for that before the usage recorder stops; then the flush (or its spill to disk) and the closing
// of pools and the database.

/**
 * After the grace: how long requests whose connections were cut (and answers read on without their client, aborted)
 * get to be metered. One metered later still is put in the usage log at once, for the next start (usage-recorder.ts).
 */
export const SHUTDOWN_SETTLE_MS = 3_000;

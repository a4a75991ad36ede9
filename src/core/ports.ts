// Ports the outer layers implement and the inner ones use (STYLE.md: ports live in core, implementations in storage,
// infra and providers, wiring in the composition root). Other ports stay beside the pure code they serve
// (core/limit-store.ts).

/** Notified after a commit that changed keys, so caches drop what they hold. */
export interface KeyChangeListener {
  keyChanged(keyId: string): void;
  projectChanged(projectId: string): void;
}

/** The project an upstream object (file, batch, response, …) created through Tollgate belongs to. */
export interface ObjectOwner {
  projectId: string;
  deleted: boolean;
  createdAt: number | null;
}

/** The setup token's copy in the data dir (infra/setup-token-file.ts). */
export interface SetupTokenFile {
  readonly path: string;
  /** The file's text (trimmed), or null when there is none. */
  read(): string | null;
  write(token: string): void;
  remove(): void;
}

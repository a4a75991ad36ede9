// The response shapes of the admin and session APIs, written once for the server (whose builders are typed against
// them), the CLI and the dashboard (which imports them with `import type`). Imports nothing but core: the dashboard's
// typecheck reads these files, and must not pull the server's Node-only code in with them.

/** OpenAI's list envelope. */
export interface ListPage<T extends { id: string }> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

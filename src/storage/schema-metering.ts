/** A background response created through the gateway, billed once when its finished result is retrieved. */
export interface BackgroundResponsesTable {
  response_id: string;
  org_id: string;
  project_id: string | null;
  api_key_id: string | null;
  /** The model it was created with (aliases applied), priced when it is billed. */
  model: string | null;
  /** Unix ms. */
  created_at: number;
  /** Unix ms; null until billed. */
  billed_at: number | null;
}

/** Metering tables (see migrations-metering.ts). */
export interface MeteringTables {
  background_responses: BackgroundResponsesTable;
}

// Conversions between the key form's text fields and the API's values.

export type ExpiryChoice = 'never' | '7' | '30' | '90' | 'custom';

/** Unix seconds for an expiry choice; a custom date expires at the end of that local day. */
export function expiresAtFor(choice: ExpiryChoice, customDate: string, nowMs = Date.now()): number | null {
  if (choice === 'never') return null;
  if (choice === 'custom') {
    if (!customDate) return null;
    const [y, m, d] = customDate.split('-').map(Number);
    return Math.floor(new Date(y, m - 1, d, 23, 59, 59).getTime() / 1000);
  }
  return Math.floor(nowMs / 1000) + Number(choice) * 86_400;
}

/** IPs and CIDR ranges from free text (commas, spaces or new lines); null when empty (no allowlist). */
export function parseIpList(text: string): string[] | null {
  const items = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : null;
}

import { useId, useState } from 'preact/hooks';
import { PermissionsField } from '../../components/permissions-field.js';
import { formatDateTime } from '../../format.js';
import type { Interval } from '../../types.js';
import type { ExpiryChoice, KeyDraft } from './key-form-fields.js';
import { hasRestrictions } from './key-form-fields.js';

interface KeyFieldsProps {
  draft: KeyDraft;
  onChange: (d: KeyDraft) => void;
  /** The key's current expiry, when editing (offers "keep"). */
  currentExpiry?: number | null;
  editing?: boolean;
}

const SPEND_INTERVALS = [
  { id: 'day', label: 'per day' },
  { id: 'week', label: 'per week' },
  { id: 'month', label: 'per month' },
  { id: 'total', label: 'in total' },
];
const QUOTA_INTERVALS = [
  { id: 'day', label: 'per day' },
  { id: 'month', label: 'per month' },
  { id: 'total', label: 'in total' },
];

/** Every setting of a key the API takes: name, permissions, expiry, IP and model allowlists, rate limits, spend limit, request quota. */
export function KeyFields({ draft, onChange, currentExpiry, editing }: KeyFieldsProps) {
  const ids = {
    name: useId(),
    expiry: useId(),
    date: useId(),
    ips: useId(),
    models: useId(),
    rpm: useId(),
    tpm: useId(),
    rpd: useId(),
    spend: useId(),
    spendInterval: useId(),
    quota: useId(),
    quotaInterval: useId(),
  };
  const set = <K extends keyof KeyDraft>(k: K, v: KeyDraft[K]) => onChange({ ...draft, [k]: v });
  // Open at first when the key has any, then the user's to open and close: bound to the draft, it collapsed as the
  // last limit was cleared (a typo fixed), taking the focus and what was typed next with it.
  const [restrictedAtFirst] = useState(() => hasRestrictions(draft));
  const spendIntervals = SPEND_INTERVALS.some((i) => i.id === draft.spendInterval) ? SPEND_INTERVALS : [{ id: draft.spendInterval, label: draft.spendInterval }, ...SPEND_INTERVALS];
  return (
    <>
      <div class="field">
        <label for={ids.name}>
          Name {!editing && <span class="optional">Optional</span>}
        </label>
        <input
          id={ids.name}
          class="input"
          value={draft.name}
          maxLength={256}
          placeholder="My test key"
          autoComplete="off"
          onInput={(e) => set('name', e.currentTarget.value)}
        />
      </div>

      <PermissionsField value={draft.permissions} onChange={(p) => set('permissions', p)} />

      <div class="field-row">
        <div class="field">
          <label for={ids.expiry}>Expires</label>
          <select id={ids.expiry} class="input" value={draft.expiry} onChange={(e) => set('expiry', e.currentTarget.value as ExpiryChoice)}>
            {editing && <option value="keep">{currentExpiry ? `Keep (${formatDateTime(currentExpiry)})` : 'Keep (never)'}</option>}
            <option value="never">Never</option>
            <option value="7">In 7 days</option>
            <option value="30">In 30 days</option>
            <option value="90">In 90 days</option>
            <option value="custom">On a date…</option>
          </select>
        </div>
        {draft.expiry === 'custom' && (
          <div class="field">
            <label for={ids.date}>Expiry date</label>
            <input id={ids.date} class="input" type="date" value={draft.customDate} onInput={(e) => set('customDate', e.currentTarget.value)} />
          </div>
        )}
      </div>

      <details class="more" open={restrictedAtFirst}>
        <summary>Allowlists and limits</summary>
        <div class="stack">
          <div class="field">
            <label for={ids.ips}>
              IP allowlist <span class="optional">Optional</span>
            </label>
            <textarea id={ids.ips} class="input mono" rows={2} value={draft.ips} placeholder="203.0.113.7, 10.0.0.0/8" onInput={(e) => set('ips', e.currentTarget.value)} />
            <p class="hint">Addresses or CIDR ranges, separated by commas or new lines. Empty allows any address.</p>
          </div>
          <div class="field">
            <label for={ids.models}>
              Model allowlist <span class="optional">Optional</span>
            </label>
            <textarea
              id={ids.models}
              class="input mono"
              rows={2}
              value={draft.models}
              placeholder="gpt-4o-mini, text-embedding-3-small"
              onInput={(e) => set('models', e.currentTarget.value)}
            />
            <p class="hint">Exact model names this key may call, separated by commas or new lines. Empty allows every model.</p>
          </div>
          <fieldset class="fieldset">
            <legend>
              Rate limits <span class="optional">Empty means no limit</span>
            </legend>
            <div class="field-row">
              <div class="field">
                <label for={ids.rpm}>Requests per minute</label>
                <input id={ids.rpm} class="input" inputMode="numeric" value={draft.rpm} onInput={(e) => set('rpm', e.currentTarget.value)} />
              </div>
              <div class="field">
                <label for={ids.tpm}>Tokens per minute</label>
                <input id={ids.tpm} class="input" inputMode="numeric" value={draft.tpm} onInput={(e) => set('tpm', e.currentTarget.value)} />
              </div>
              <div class="field">
                <label for={ids.rpd}>Requests per day</label>
                <input id={ids.rpd} class="input" inputMode="numeric" value={draft.rpd} onInput={(e) => set('rpd', e.currentTarget.value)} />
              </div>
            </div>
          </fieldset>
          <div class="field-row">
            <div class="field">
              <label for={ids.spend}>Spend limit (USD)</label>
              <input id={ids.spend} class="input" inputMode="decimal" placeholder="No limit" value={draft.spend} onInput={(e) => set('spend', e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for={ids.spendInterval}>Spend limit period</label>
              <select id={ids.spendInterval} class="input" value={draft.spendInterval} onChange={(e) => set('spendInterval', e.currentTarget.value as Interval)}>
                {spendIntervals.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <div class="field-row">
            <div class="field">
              <label for={ids.quota}>Request quota</label>
              <input id={ids.quota} class="input" inputMode="numeric" placeholder="No quota" value={draft.quota} onInput={(e) => set('quota', e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for={ids.quotaInterval}>Quota period</label>
              <select id={ids.quotaInterval} class="input" value={draft.quotaInterval} onChange={(e) => set('quotaInterval', e.currentTarget.value as KeyDraft['quotaInterval'])}>
                {QUOTA_INTERVALS.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <p class="hint">
            A key's limits apply on top of its project's. Requests over a limit are refused (429) and shown with their reason on the key's page.
          </p>
        </div>
      </details>
    </>
  );
}

import { useId } from 'preact/hooks';
import type { AccessLevel, Permissions } from '../types.js';

// OpenAI's key permissions: All, Restricted (per resource: none/read/write), or Read only.
export const RESOURCES: Array<{ id: string; label: string }> = [
  { id: 'models', label: 'Models' },
  { id: 'chat.completions', label: 'Chat completions' },
  { id: 'completions', label: 'Completions (legacy)' },
  { id: 'embeddings', label: 'Embeddings' },
  { id: 'responses', label: 'Responses' },
  { id: 'messages', label: 'Messages (Anthropic API)' },
  { id: 'images', label: 'Images' },
  { id: 'audio', label: 'Audio' },
  { id: 'moderations', label: 'Moderations' },
  { id: 'files', label: 'Files' },
  { id: 'fine_tuning', label: 'Fine-tuning' },
  { id: 'batches', label: 'Batches' },
  { id: 'assistants', label: 'Assistants' },
  { id: 'threads', label: 'Threads' },
  { id: 'vector_stores', label: 'Vector stores' },
];

const LEVELS: AccessLevel[] = ['none', 'read', 'write'];
const LEVEL_LABEL: Record<AccessLevel, string> = { none: 'None', read: 'Read', write: 'Write' };

type Mode = 'all' | 'restricted' | 'read_only';

const modeOf = (p: Permissions): Mode => (typeof p === 'string' ? p : 'restricted');

/** A short description for tables. */
export function describePermissions(p: Permissions): string {
  if (p === 'all') return 'All';
  if (p === 'read_only') return 'Read only';
  const granted = Object.values(p.restricted).filter((l) => l !== 'none').length;
  return `Restricted (${granted})`;
}

/** Radio group for the mode, and a per-resource table when Restricted. */
export function PermissionsField({ value, onChange }: { value: Permissions; onChange: (p: Permissions) => void }) {
  const name = useId();
  const mode = modeOf(value);
  const restricted = typeof value === 'object' ? value.restricted : {};
  const setMode = (m: Mode) => onChange(m === 'restricted' ? { restricted: { models: 'read', 'chat.completions': 'write', ...restricted } } : m);
  const setLevel = (resource: string, level: AccessLevel) => onChange({ restricted: { ...restricted, [resource]: level } });
  return (
    <fieldset class="fieldset">
      <legend>Permissions</legend>
      <div class="segmented">
        {(['all', 'restricted', 'read_only'] as Mode[]).map((m) => (
          <label key={m} class={mode === m ? 'segment segment-on' : 'segment'}>
            <input type="radio" name={name} value={m} checked={mode === m} onChange={() => setMode(m)} />
            {m === 'all' ? 'All' : m === 'restricted' ? 'Restricted' : 'Read only'}
          </label>
        ))}
      </div>
      {mode === 'restricted' && (
        <div class="resource-grid">
          {RESOURCES.map((r) => (
            <label key={r.id} class="resource-row">
              <span>{r.label}</span>
              <select
                class="input input-small"
                aria-label={`${r.label} permission`}
                value={restricted[r.id] ?? 'none'}
                onChange={(e) => setLevel(r.id, e.currentTarget.value as AccessLevel)}
              >
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {LEVEL_LABEL[l]}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
      )}
      <p class="hint">
        {mode === 'all'
          ? 'Full access to every endpoint.'
          : mode === 'read_only'
            ? 'Read access to every endpoint (GET requests only).'
            : 'Only the access chosen per resource. Write implies read.'}
      </p>
    </fieldset>
  );
}

import { useId } from 'preact/hooks';
import type { Resource } from '../../../src/core/permissions.js';
import type { AccessLevel, Permissions } from '../types.js';

// OpenAI's key permissions: All, Restricted (per resource: none/read/write), or Read only.
/** A label for every resource the server grants (src/core/permissions.ts): one it adds is a compile error here until labelled. */
const LABELS: Record<Resource, string> = {
  models: 'Models',
  'chat.completions': 'Chat completions',
  completions: 'Completions (legacy)',
  embeddings: 'Embeddings',
  responses: 'Responses',
  conversations: 'Conversations',
  messages: 'Messages (Anthropic API)',
  images: 'Images',
  videos: 'Videos',
  audio: 'Audio',
  realtime: 'Realtime',
  moderations: 'Moderations',
  content_provenance_checks: 'Content provenance checks',
  files: 'Files',
  uploads: 'Uploads',
  fine_tuning: 'Fine-tuning',
  batches: 'Batches',
  evals: 'Evals',
  assistants: 'Assistants',
  threads: 'Threads',
  vector_stores: 'Vector stores',
  containers: 'Containers',
  skills: 'Skills',
  chatkit: 'ChatKit',
};
export const RESOURCES: Array<{ id: Resource; label: string }> = (Object.keys(LABELS) as Resource[]).map((id) => ({ id, label: LABELS[id] }));

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

import { useId } from 'preact/hooks';
import { useSession } from '../session.js';

/** The project switcher at the top of project-scoped pages. */
export function ProjectPicker() {
  const { projects, projectId, selectProject } = useSession();
  const id = useId();
  if (projects.length === 0) return null;
  return (
    <div class="picker">
      <label for={id}>Project</label>
      <select id={id} class="input" value={projectId ?? ''} onChange={(e) => selectProject(e.currentTarget.value)}>
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </div>
  );
}

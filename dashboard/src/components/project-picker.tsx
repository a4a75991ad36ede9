import { useId } from 'preact/hooks';
import { useSession } from '../session.js';

/** The project switcher at the top of project-scoped pages. */
export function ProjectPicker() {
  const { projects, allProjects, projectId, selectProject } = useSession();
  const id = useId();
  // An archived project is not offered, but one opened by its address (a bookmark) is shown as the selection: without
  // its option the select showed blank, or another project's name, over the archived project's page.
  const archived = allProjects.find((p) => p.id === projectId && p.status === 'archived');
  const options = archived ? [...projects, archived] : projects;
  if (options.length === 0) return null;
  return (
    <div class="picker">
      <label for={id}>Project</label>
      <select id={id} class="input" value={projectId ?? ''} onChange={(e) => selectProject(e.currentTarget.value)}>
        {options.map((p) => (
          <option key={p.id} value={p.id}>
            {p.status === 'archived' ? `${p.name} (archived)` : p.name}
          </option>
        ))}
      </select>
    </div>
  );
}

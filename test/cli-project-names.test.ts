import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by a new-user walkthrough: `--project <name>` took the first project of that name, archived ones included, and
// never said the name was ambiguous. `projects create Temp; projects archive Temp; projects create Temp; keys create
// --project Temp` was refused as "Project 'proj_…' is archived" (the old one), and with two active "Mobile app" projects
// keys, limits and budgets silently went to the older one. Now a name matches active projects only (an archived one is
// reached by its id, and the refusal says so), and a name two active projects share is refused, naming their ids.

describe('CLI --project by name', () => {
  let local: LocalCli;
  beforeAll(() => {
    local = localCli('cli-project-names');
  });
  afterAll(() => local.remove());
  const cli = (...args: string[]) => local.run(...args);
  const create = async (name: string) => (await cli('--json', 'projects', 'create', name)).json().id as string;
  const keyNames = async (pid: string) => (await cli('--json', 'keys', 'list', '--project', pid, '--all')).json().data.map((k: { name: string }) => k.name);

  it('takes the active project of a name, not an archived one of the same name', async () => {
    const old = await create('Temp');
    expect((await cli('projects', 'archive', 'Temp')).code).toBe(0);
    const current = await create('Temp');
    const r = await cli('--json', 'keys', 'create', '--project', 'Temp', '--name', 'new');
    expect(r.code, r.err).toBe(0);
    expect(await keyNames(current)).toEqual(['new']);
    expect(await keyNames(old)).toEqual([]);
    // The archived one is still reachable by its id.
    const byId = await cli('--json', 'keys', 'list', '--project', old);
    expect(byId.code, byId.err).toBe(0);
  });

  it('says a name only an archived project has is reached by its id', async () => {
    const gone = await create('Gone');
    expect((await cli('projects', 'archive', gone)).code).toBe(0);
    for (const args of [
      ['keys', 'create', '--project', 'Gone', '--name', 'k'],
      ['keys', 'list', '--project', 'Gone'],
      ['projects', 'archive', 'Gone'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/No active project named 'Gone'/);
      expect(r.err, args.join(' ')).toContain(`archived: ${gone}`);
      expect(r.err, args.join(' ')).toMatch(/by its id/);
    }
    const none = await cli('keys', 'list', '--project', 'Nowhere');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/No project named 'Nowhere'/);
  });

  it('refuses a name two active projects share, naming their ids, and writes nothing', async () => {
    const first = await create('Mobile app');
    const second = await create('Mobile app');
    for (const args of [
      ['keys', 'create', '--project', 'Mobile app', '--name', 'ios'],
      ['keys', 'list', '--project', 'Mobile app'],
      ['limits', 'set', '--project', 'Mobile app', '--rpm', '60'],
      ['limits', 'list', '--project', 'Mobile app'],
      ['budget', 'set', '--project', 'Mobile app', '--usd', '5'],
      ['usage', '--project', 'Mobile app'],
      ['objects', 'list', '--project', 'Mobile app'],
      ['objects', 'assign', 'file-abc', '--project', 'Mobile app'],
      ['projects', 'archive', 'Mobile app'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(/2 active projects are named 'Mobile app'/);
      expect(r.err, args.join(' ')).toContain(first);
      expect(r.err, args.join(' ')).toContain(second);
      expect(r.err, args.join(' ')).toMatch(/use the id/);
    }
    expect(await keyNames(first)).toEqual([]);
    expect(await keyNames(second)).toEqual([]);
    const projects = (await cli('--json', 'projects', 'list')).json().data as Array<{ id: string; status: string }>;
    expect(projects.filter((p) => p.id === first || p.id === second).map((p) => p.status)).toEqual(['active', 'active']);
    // By id, each is reached.
    expect((await cli('keys', 'create', '--project', second, '--name', 'ios')).code).toBe(0);
    expect(await keyNames(second)).toEqual(['ios']);
  });

  it('refuses the default project by name when a second project takes its name', async () => {
    await create('Default project');
    const r = await cli('keys', 'list');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/2 active projects are named 'Default project'.*use the id/);
  });
});

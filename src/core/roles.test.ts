import { describe, expect, it } from 'vitest';
import {
  decideKeyManagement,
  decideKeyOwnerAssignment,
  decideOrganizationWrite,
  decideOwnerOnlyRead,
  decideProjectKeyWrite,
  effectiveProjectRole,
  isOrgOwner,
  keyActions,
  MESSAGES,
  mayManageProjectKeys,
  ORG_ROLES,
  type OrgRole,
  PROJECT_ROLES,
  type ProjectRole,
  type RoleDecision,
} from './roles.js';

// Every organization role × project role (none included) × action, written out as a table: a change of any rule
// changes one cell here.

type Cell = `${OrgRole}/${ProjectRole | 'none'}`;
const cells: Array<[Cell, OrgRole, ProjectRole | null]> = ORG_ROLES.flatMap((o) =>
  [...PROJECT_ROLES, null].map((p): [Cell, OrgRole, ProjectRole | null] => [`${o}/${p ?? 'none'}`, o, p]),
);

const yes = (d: RoleDecision) => d.allowed;
const messageOf = (d: RoleDecision) => (d.allowed ? null : d.message);
const ME = 'user-me';

/** What each cell may do; `own`, `colleague` and `service` are keys owned by themself, another user, a service account. */
const EXPECTED: Record<Cell, { owner: boolean; role: ProjectRole | null; writeKeys: boolean; own: boolean; colleague: boolean; service: boolean; giveToOther: boolean }> = {
  'owner/owner': { owner: true, role: 'owner', writeKeys: true, own: true, colleague: true, service: true, giveToOther: true },
  'owner/member': { owner: true, role: 'owner', writeKeys: true, own: true, colleague: true, service: true, giveToOther: true },
  'owner/reader': { owner: true, role: 'owner', writeKeys: true, own: true, colleague: true, service: true, giveToOther: true },
  'owner/none': { owner: true, role: 'owner', writeKeys: true, own: true, colleague: true, service: true, giveToOther: true },
  'reader/owner': { owner: false, role: 'owner', writeKeys: true, own: true, colleague: true, service: true, giveToOther: false },
  'reader/member': { owner: false, role: 'member', writeKeys: true, own: true, colleague: false, service: false, giveToOther: false },
  'reader/reader': { owner: false, role: 'reader', writeKeys: false, own: false, colleague: false, service: false, giveToOther: false },
  'reader/none': { owner: false, role: null, writeKeys: false, own: false, colleague: false, service: false, giveToOther: false },
};

describe('roles', () => {
  it('covers every organization role × project role', () => {
    expect(cells.map(([c]) => c).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [cell, orgRole, projectRole] of cells) {
    it(`${cell}: decides every action as the table says`, () => {
      const want = EXPECTED[cell];
      const key = (owner: { type: 'user' | 'service_account'; id: string } | null) => yes(decideKeyManagement({ userId: ME, orgRole, projectRole, owner }));
      expect({
        owner: isOrgOwner(orgRole),
        role: effectiveProjectRole(orgRole, projectRole),
        writeKeys: mayManageProjectKeys(orgRole, projectRole),
        own: key({ type: 'user', id: ME }),
        colleague: key({ type: 'user', id: 'user-colleague' }),
        service: key({ type: 'service_account', id: 'user-me' }),
        giveToOther: yes(decideKeyOwnerAssignment(ME, orgRole, 'user-colleague')),
      }).toEqual(want);
      expect(yes(decideProjectKeyWrite(orgRole, projectRole))).toBe(want.writeKeys);
      expect(yes(decideOwnerOnlyRead(orgRole))).toBe(want.owner);
      expect(yes(decideOrganizationWrite(orgRole))).toBe(want.owner);
      // Anyone may make a key for themself (whether they may write the project's keys at all is asked apart).
      expect(yes(decideKeyOwnerAssignment(ME, orgRole, ME))).toBe(true);
    });
  }

  it('says why, in the words the dashboard shows', () => {
    expect(messageOf(decideKeyManagement({ userId: ME, orgRole: 'reader', projectRole: 'member', owner: { type: 'service_account', id: 'svc' } }))).toBe(MESSAGES.serviceAccountKey);
    expect(messageOf(decideKeyManagement({ userId: ME, orgRole: 'reader', projectRole: 'member', owner: { type: 'user', id: 'user-x' } }))).toBe(MESSAGES.colleagueKey);
    expect(messageOf(decideKeyManagement({ userId: ME, orgRole: 'reader', projectRole: 'member', owner: null }))).toBe(MESSAGES.colleagueKey);
    expect(messageOf(decideKeyManagement({ userId: ME, orgRole: 'reader', projectRole: 'reader', owner: { type: 'user', id: ME } }))).toBe(MESSAGES.needsKeyRole);
    expect(messageOf(decideProjectKeyWrite('reader', null))).toBe(MESSAGES.needsKeyRole);
    expect(messageOf(decideKeyOwnerAssignment(ME, 'reader', 'user-x'))).toBe(MESSAGES.keyForAnotherUser);
    expect(messageOf(decideOwnerOnlyRead('reader'))).toBe(MESSAGES.ownerOnlyArea);
    expect(messageOf(decideOrganizationWrite('reader'))).toBe(MESSAGES.ownerOnlyChange);
    // Null roles (a removed user) are refused like readers.
    expect(isOrgOwner(null)).toBe(false);
    expect(mayManageProjectKeys(null, null)).toBe(false);
  });
});

describe('keyActions: what may be done to a key in each status (the API and the dashboard alike)', () => {
  it('revokes any key not revoked, edits one not revoked or exposed, rotates an active one', () => {
    const table = ['active', 'expired', 'suspended', 'exposed', 'revoked'].map((s) => [s, keyActions(s)]);
    expect(table).toEqual([
      ['active', { revoke: true, edit: true, rotate: true }],
      ['expired', { revoke: true, edit: true, rotate: false }],
      ['suspended', { revoke: true, edit: true, rotate: false }],
      ['exposed', { revoke: true, edit: false, rotate: false }],
      ['revoked', { revoke: false, edit: false, rotate: false }],
    ]);
  });
});

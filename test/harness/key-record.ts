import type { KeyRecord } from '../../src/core/verify.js';

/** An active, all-permission project key record of org-1/proj_1, with `overrides` on top (unit-test fixture). */
export function keyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_1',
    kind: 'project',
    name: 'k',
    orgId: 'org-1',
    projectId: 'proj_1',
    status: 'active',
    expiresAt: null,
    secretExpiresAt: null,
    permissions: 'all',
    allowedModels: null,
    ipAllow: null,
    projectStatus: 'active',
    projectIpAllow: null,
    exposedAt: null,
    exposedUrl: null,
    limits: null,
    rpdRev: null,
    quotaRev: null,
    spendRev: null,
    ...overrides,
  };
}

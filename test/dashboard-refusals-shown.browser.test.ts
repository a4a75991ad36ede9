import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DashboardSession, describeBrowser, keyIsAccepted, ORG, openDashboard, signInOwner } from './harness/dashboard-browser.js';
import type { TestServer } from './harness/server.js';

// What the dashboard offers must be what the server accepts: an archived project's keys (refused at the gateway, not
// changeable), a key created in the project the user chose and no other, invitation roles, spend alert amounts.

describeBrowser('dashboard in a browser: it offers only what the server accepts', () => {
  let s: DashboardSession;
  let t: TestServer;
  let page: Page;

  beforeAll(async () => {
    s = await openDashboard();
    ({ t, page } = s);
    await signInOwner(s);
  });

  afterAll(async () => {
    await s?.close();
  });

  /** Opens a dashboard address afresh (the projects read again, as a bookmark would). */
  const open = async (hash: string) => {
    await page.goto(`${t.url}/${hash}`);
    await page.reload();
  };

  it("shows an archived project's keys as not usable, offers no create, edit or rotate, and names the project in the picker", async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Old project' } })).body.id as string;
    const key = (await t.api('POST', `${ORG}/projects/${project}/api_keys`, { body: { name: 'old-key' } })).body;
    expect((await t.api('POST', `${ORG}/projects/${project}/archive`)).status).toBe(200);
    expect(await keyIsAccepted(t, key.value)).toBe(false);

    await open(`#/api-keys?project=${project}`);
    await page.getByText('Old project is archived').waitFor();
    const picker = page.getByLabel('Project', { exact: true });
    expect(await picker.inputValue()).toBe(project);
    expect(await picker.locator('option:checked').textContent()).toBe('Old project (archived)');
    const row = s.row('old-key');
    await row.getByText('Not usable').waitFor();
    expect(await row.getByText('Active').count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Edit old-key' }).count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Rotate old-key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: '+ Create new secret key' }).count()).toBe(0);

    // Revoking stays: the server allows it.
    await row.getByRole('button', { name: 'Revoke old-key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: /Revoke/ }).last().click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(async () => (await t.api('GET', `${ORG}/projects/${project}/api_keys`)).body.data.length).toBe(0);

    // The key's own page says so too.
    const other = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Old project 2' } })).body.id as string;
    const key2 = (await t.api('POST', `${ORG}/projects/${other}/api_keys`, { body: { name: 'old-key-2' } })).body;
    await t.api('POST', `${ORG}/projects/${other}/archive`);
    await open(`#/api-keys/${key2.id}?project=${other}`);
    await page.getByRole('heading', { name: 'old-key-2', level: 1 }).waitFor();
    await page.getByText('Not usable').waitFor();
    expect(await page.getByRole('button', { name: 'Rotate' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(s.problems).toEqual([]);
  });
  it('creates a key only in the project the user chose: opened for an archived project, it says so and waits for a choice', async () => {
    const project = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Closed project' } })).body.id as string;
    await t.api('POST', `${ORG}/projects/${project}/service_accounts`, { body: { name: 'closed-bot' } });
    await t.api('POST', `${ORG}/projects/${project}/archive`);
    const keysOf = async (id: string) => (await t.api('GET', `${ORG}/projects/${id}/api_keys`)).body.data.length as number;
    const before = await keysOf(t.defaultProjectId);

    await open(`#/settings/service-accounts?project=${project}`);
    await page.getByRole('button', { name: 'New key for closed-bot' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create new secret key' });
    await dialog.getByText('You', { exact: true }).click();
    await dialog.getByLabel('Name').fill('meant-for-closed');
    await dialog.getByText('Closed project is archived: keys cannot be created in it.').waitFor();
    const create = dialog.getByRole('button', { name: 'Create secret key' });
    expect(await create.isDisabled()).toBe(true);
    // Enter submits nothing either (a form whose submit button is disabled is not submitted implicitly).
    await dialog.getByLabel('Name').press('Enter');
    expect(await keysOf(t.defaultProjectId)).toBe(before);

    // Chosen explicitly, another project gets the key.
    await dialog.getByLabel('Project').selectOption({ label: 'Default project' });
    await create.click();
    await page.getByRole('dialog', { name: 'Save your key' }).waitFor();
    expect(await keysOf(t.defaultProjectId)).toBe(before + 1);
    expect(s.problems).toEqual([]);
  });
  it('offers an invitation only the project roles the server accepts', async () => {
    await open('#/settings/members');
    await page.getByLabel('Add to project').selectOption({ label: 'Default project' });
    const roles = page.getByLabel('Project role');
    expect(await roles.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['member', 'owner']);
    await page.getByLabel('Email').fill('invited-member@example.com');
    await roles.selectOption('owner');
    await page.getByRole('button', { name: 'Create invite link' }).click();
    await page.getByText('Send this link to').waitFor();
    const invites = (await t.api('GET', `${ORG}/invites`)).body.data as Array<{ email: string; projects: Array<{ role: string }> }>;
    expect(invites.find((i) => i.email === 'invited-member@example.com')?.projects).toEqual([expect.objectContaining({ role: 'owner' })]);
  });

  it('refuses a spend alert with more than two decimals, saying why, and saves whole cents ($0: the first spend)', async () => {
    const alerts = async () => (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/spend_alerts`)).body.data as Array<{ threshold_amount: number }>;
    await open(`#/limits?project=${t.defaultProjectId}`);
    const form = page.getByRole('form', { name: 'Add a spend alert' });
    const amount = form.getByLabel('Alert at (USD per month)');
    for (const [typed, message] of [
      ['0.001', 'An alert amount has at most two decimals (whole cents), such as 49.50.'],
      ['12.345', 'An alert amount has at most two decimals (whole cents), such as 49.50.'],
      ['ten', "An alert is an amount in dollars of the month's spend, such as 100 or 49.50."],
    ]) {
      await amount.fill(typed);
      await form.getByRole('button', { name: 'Add alert' }).click();
      await page.getByRole('alert').filter({ hasText: message }).waitFor();
    }
    expect(await alerts()).toEqual([]);
    await amount.fill('49.5');
    await form.getByRole('button', { name: 'Add alert' }).click();
    await page.getByText('Alert added.').waitFor();
    expect((await alerts()).map((a) => a.threshold_amount)).toEqual([4950]);
    await amount.fill('0');
    await form.getByRole('button', { name: 'Add alert' }).click();
    await page.getByText('Alert added.').waitFor();
    expect((await alerts()).map((a) => a.threshold_amount).sort((x, y) => x - y)).toEqual([0, 4950]);
    expect(s.problems).toEqual([]);
  });
  it("checks a provider's name with a pattern the browser compiles (no console error)", async () => {
    await open('#/settings/providers');
    const name = page.locator('form', { hasText: 'Add a provider' }).getByLabel('Name', { exact: true });
    await name.fill('my provider');
    expect(await name.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(true);
    await name.fill('my_provider-2');
    expect(await name.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(false);
    expect(s.problems).toEqual([]);
  });
  // Found by review: the admin key's revoke dialog showed the server's refusal on the page behind the modal, where
  // the person confirming could not see it (every confirmation now shows its refusal in the dialog, which stays open).
  it("shows a refused admin-key revoke in the dialog, which stays open, and leaves the key active", async () => {
    const key = (await t.api('POST', `${ORG}/admin_api_keys`, { body: { name: 'refused-revoke' } })).body;
    await open('#/settings/admin-keys');
    await page.getByRole('button', { name: 'Revoke refused-revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke admin key' });
    await page.route(`**/v1/organization/admin_api_keys/${key.id}`, (route) =>
      route.request().method() === 'DELETE'
        ? route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'The database is not answering.', type: 'server_error', param: null, code: 'service_unavailable' } }) })
        : route.continue(),
    );
    try {
      await dialog.getByRole('button', { name: 'Revoke key' }).click();
      await dialog.getByRole('alert').getByText('The database is not answering.').waitFor();
      expect(await dialog.isVisible()).toBe(true);
    } finally {
      await page.unroute(`**/v1/organization/admin_api_keys/${key.id}`);
    }
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const listed = (await t.api('GET', `${ORG}/admin_api_keys`)).body.data.find((k: { id: string }) => k.id === key.id);
    expect(listed.status ?? 'active').toBe('active');
    // Confirmed again, it revokes and the list shows it.
    await page.getByRole('button', { name: 'Revoke refused-revoke' }).click();
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(async () => ((await t.api('GET', `${ORG}/admin_api_keys`)).body.data.find((k: { id: string }) => k.id === key.id)?.status ?? 'gone')).not.toBe('active');
    expect(s.problems.filter((p) => !p.includes('503'))).toEqual([]);
  });
});

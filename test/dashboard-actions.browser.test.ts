import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM, type DashboardSession, describeBrowser, keyIsAccepted, ORG, OWNER, openDashboard, signInOwner } from './harness/dashboard-browser.js';
import type { TestServer } from './harness/server.js';

// Found by an outside review of the dashboard in Chromium: a double-click on a Create button saved twice (two admin
// keys, the first's secret never shown; two projects), keys exposed or expired could not be revoked from the dashboard
// though the API revokes them (a leaked key's banner pointed at no action), and an Edit that cleared a key's name
// closed as if it saved.

describeBrowser('dashboard actions', () => {
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

  it('a double-click on Create saves once: one admin key (its secret the one shown), one project', async () => {
    // The POSTs the page sends, counted as they leave (a count of what was saved could be read before a second one
    // landed).
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/v1\/organization\/(admin_api_keys|projects)$/.test(new URL(r.url()).pathname)) posts.push(new URL(r.url()).pathname);
    });
    await page.goto(`${t.url}/#/settings/admin-keys`);
    await page.getByLabel('Name').fill('dbl-admin');
    await page.getByRole('button', { name: 'Create admin key' }).dblclick();
    const reveal = page.getByRole('dialog', { name: 'Save your admin key' });
    await reveal.waitFor();
    const admin = (await t.api('GET', `${ORG}/admin_api_keys?limit=100`)).body.data as Array<{ name: string }>;
    expect(admin.filter((k) => k.name === 'dbl-admin')).toHaveLength(1);
    // Done twice: closed without copying the secret.
    await reveal.getByRole('button', { name: 'Done' }).click();
    await reveal.getByRole('button', { name: 'Done' }).click();
    await reveal.waitFor({ state: 'detached' });

    await page.goto(`${t.url}/#/settings/organization`);
    await page.getByLabel('New project name').fill('dbl-proj');
    await page.getByRole('button', { name: 'Create project' }).dblclick();
    await expect.poll(async () => ((await t.api('GET', `${ORG}/projects?limit=100`)).body.data as Array<{ name: string }>).filter((p) => p.name === 'dbl-proj').length).toBe(1);
    // And stays one once the page is done: one POST each was sent.
    await page.getByText('dbl-proj').first().waitFor();
    await page.waitForLoadState('networkidle');
    expect(((await t.api('GET', `${ORG}/projects?limit=100`)).body.data as Array<{ name: string }>).filter((p) => p.name === 'dbl-proj')).toHaveLength(1);
    expect(posts).toEqual(['/v1/organization/admin_api_keys', '/v1/organization/projects']);
  });

  it('revokes a key that was exposed, and one that expired (editing the expired one too), from the list and its page', async () => {
    const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const exposed = (await t.api('POST', base, { body: { name: 'leaky-one' } })).body;
    await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: exposed.value, url: 'https://example.com/leak' }] } });
    const now = Math.floor(t.server.runtime.deps.clock() / 1000);
    const expired = (await t.api('POST', base, { body: { name: 'short-lived', expires_at: now + 1 } })).body;
    await expect.poll(() => Math.floor(t.server.runtime.deps.clock() / 1000) > now + 1, { timeout: 5000 }).toBe(true);

    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}`);
    await page.reload();
    await s.row('leaky-one').getByText('Exposed').waitFor();
    // An exposed key: revoke only (no edit or rotate of a disabled secret).
    await expect(s.row('leaky-one').getByRole('button', { name: 'Edit leaky-one' }).count()).resolves.toBe(0);
    await s.row('leaky-one').getByRole('button', { name: 'Revoke leaky-one' }).click();
    const revoke = page.getByRole('dialog').filter({ hasText: 'leaky-one' });
    await revoke.getByRole('button', { name: /Revoke/ }).last().click();
    await revoke.waitFor({ state: 'detached' });
    await expect.poll(async () => (await t.api('GET', `${base}/${exposed.id}`)).status).toBe(404);

    // An expired key: its page offers Edit and Revoke, not Rotate.
    await page.goto(`${t.url}/#/api-keys/${expired.id}`);
    await page.getByRole('button', { name: 'Revoke' }).waitFor();
    await expect(page.getByRole('button', { name: 'Rotate' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit secret key' });
    await edit.getByLabel('Name').fill('');
    await edit.getByRole('button', { name: 'Save' }).click();
    // A cleared name is refused on screen, and the dialog stays.
    await edit.getByText('Give the key a name.').waitFor();
    expect((await t.api('GET', `${base}/${expired.id}`)).body.name).toBe('short-lived');
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog').filter({ hasText: 'short-lived' });
    await dialog.getByRole('button', { name: /Revoke/ }).last().click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(async () => (await t.api('GET', `${base}/${expired.id}`)).status).toBe(404);
  });

  it('copies a new secret over plain http on a LAN address, and says "Copied" only when it did', async () => {
    // Not a secure context (no Clipboard API), as http://192.168.1.20:8484 on a LAN: the legacy copy command's textarea
    // sat in <body>, inert behind the modal, so nothing was copied while the button said "Copied" and Done closed.
    const lan = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP tollgate.test 127.0.0.1'] });
    try {
      const ctx = await lan.newContext();
      await ctx.grantPermissions(['clipboard-read'], { origin: t.url });
      const reader = await ctx.newPage();
      await reader.goto(`${t.url}/v1/models`); // a secure origin, only to read the clipboard
      const p = await ctx.newPage();
      await p.goto(`http://tollgate.test:${new URL(t.url).port}/`);
      expect(await p.evaluate(() => window.isSecureContext || 'clipboard' in navigator)).toBe(false);
      await p.getByLabel('Email').fill(OWNER.email);
      await p.getByLabel('Password').fill(OWNER.password);
      await p.getByRole('button', { name: 'Sign in' }).click();
      const create = async () => {
        await p.getByRole('button', { name: 'Create new secret key' }).first().click();
        await p.getByRole('dialog', { name: 'Create new secret key' }).getByRole('button', { name: 'Create secret key' }).click();
        const reveal = p.getByRole('dialog', { name: 'Save your key' });
        return { reveal, secret: await reveal.getByTestId('secret').inputValue() };
      };
      const first = await create();
      await first.reveal.getByRole('button', { name: 'Copy' }).click();
      await first.reveal.getByRole('button', { name: 'Copied' }).waitFor();
      await reader.bringToFront();
      expect(await reader.evaluate(() => navigator.clipboard.readText())).toBe(first.secret);
      await p.bringToFront();
      await first.reveal.getByRole('button', { name: 'Done' }).click();
      await first.reveal.waitFor({ state: 'detached' });

      // A copy command that answers true and copies nothing is not taken for a copy: the button says so, the secret
      // is selected for copying by hand, and Done warns before closing.
      const second = await create();
      await p.evaluate(() => {
        document.execCommand = () => true;
      });
      await second.reveal.getByRole('button', { name: 'Copy' }).click();
      await second.reveal.getByRole('button', { name: 'Copy failed' }).waitFor();
      await second.reveal.getByText('Your browser did not let Tollgate copy').waitFor();
      expect(await p.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('secret');
      await second.reveal.getByRole('button', { name: 'Done' }).click();
      await second.reveal.getByText('You have not copied this secret key').waitFor();
      await second.reveal.getByRole('button', { name: 'Done' }).click();
      await second.reveal.waitFor({ state: 'detached' });
    } finally {
      await lan.close();
    }
  });

  it('a Create or Rotate dialog waits for its answer (Escape and Cancel do nothing meanwhile) and shows the secret', async () => {
    const keys = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const old = (await t.api('POST', keys, { body: { name: 'rot-me' } })).body;
    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}`);
    await page.reload();
    // The answers come half a second late.
    const slow = async (r: import('playwright-core').Route) => {
      if (r.request().method() === 'POST') await new Promise((x) => setTimeout(x, 500));
      await r.continue();
    };
    // The rotation's answer is held until the dialog was seen to stay open (a fixed delay let a busy machine's
    // Escape presses and check run past it, the answer already in).
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const hold = async (r: import('playwright-core').Route) => {
      if (r.request().method() === 'POST') await held;
      await r.continue();
    };
    await page.route('**/rotate', hold);
    await page.getByRole('button', { name: 'Rotate rot-me' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate secret key' });
    await rotate.getByLabel('Old secret stops working').selectOption({ label: 'Immediately' });
    await rotate.getByRole('button', { name: 'Rotate key' }).click();
    await expect.poll(() => rotate.getByRole('button', { name: 'Cancel' }).isDisabled()).toBe(true);
    // Twice: Chromium closes a modal outright at a second Escape with nothing pressed between.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    // Still open, after the browser's close (a task) and the dialog's answer to it.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
    expect(await rotate.isVisible()).toBe(true);
    release();
    const rotated = page.getByRole('dialog', { name: 'Save your new key' });
    const secret = await rotated.getByTestId('secret').inputValue();
    expect(await keyIsAccepted(t, secret)).toBe(true);
    expect(await keyIsAccepted(t, old.value)).toBe(false);
    await rotated.getByRole('button', { name: 'Copy' }).click();
    await rotated.getByRole('button', { name: 'Done' }).click();
    await rotated.waitFor({ state: 'detached' });
    await page.unroute('**/rotate', hold);

    await page.route('**/api_keys', slow);
    await page.getByRole('button', { name: 'Create new secret key' }).first().click();
    const create = page.getByRole('dialog', { name: 'Create new secret key' });
    await create.getByLabel('Name').fill('made-while-escaping');
    await create.getByRole('button', { name: 'Create secret key' }).click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    const made = page.getByRole('dialog', { name: 'Save your key' });
    expect(await keyIsAccepted(t, await made.getByTestId('secret').inputValue())).toBe(true);
    await page.unroute('**/api_keys', slow);
    // The list behind it shows the new key.
    await s.row('made-while-escaping').waitFor();
    await made.getByRole('button', { name: 'Copy' }).click();
    await made.getByRole('button', { name: 'Done' }).click();
    await made.waitFor({ state: 'detached' });
  });

  it("a new admin key's secret is shown on the page the user went to while it was being made", async () => {
    await page.goto(`${t.url}/#/settings/admin-keys`);
    const slow = async (r: import('playwright-core').Route) => {
      if (r.request().method() === 'POST') await new Promise((x) => setTimeout(x, 500));
      await r.continue();
    };
    await page.route('**/admin_api_keys', slow);
    await page.getByLabel('New admin key name').fill('made-while-leaving');
    await page.getByRole('button', { name: 'Create admin key' }).click();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    const reveal = page.getByRole('dialog', { name: 'Save your admin key' });
    expect(await reveal.getByTestId('secret').inputValue()).toMatch(/^sk-tg-admin-/);
    await page.unroute('**/admin_api_keys', slow);
    await reveal.getByRole('button', { name: 'Copy' }).click();
    await reveal.getByRole('button', { name: 'Done' }).click();
    await reveal.waitFor({ state: 'detached' });
  });

  it('"Allowlists and limits" stays open while its last limit is cleared and retyped', async () => {
    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}`);
    await page.getByRole('button', { name: 'Create new secret key' }).first().click();
    const d = page.getByRole('dialog', { name: 'Create new secret key' });
    await d.getByText('Allowlists and limits').click();
    const rpm = d.getByLabel('Requests per minute');
    await rpm.click();
    await page.keyboard.type('5');
    await page.keyboard.press('Backspace'); // a typo fixed: no limit left for a moment
    await page.keyboard.type('7');
    expect(await d.locator('details.more').evaluate((e) => (e as HTMLDetailsElement).open)).toBe(true);
    expect(await rpm.inputValue()).toBe('7');
    await s.closeDialog();
  });

  it("a key's Recent changes shows its edit, rotation and revocation as they are made", async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'audited' } })).body;
    await page.goto(`${t.url}/#/api-keys/${k.id}?project=${t.defaultProjectId}`);
    const rows = page.locator('.audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit secret key' });
    await edit.getByLabel('Name').fill('audited-2');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog', { name: 'Rotate secret key' }).getByRole('button', { name: 'Rotate key' }).click();
    const reveal = page.getByRole('dialog', { name: 'Save your new key' });
    await reveal.getByRole('button', { name: 'Copy' }).click();
    await reveal.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => rows.count()).toBe(3);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke secret key' }).getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => rows.count()).toBe(4);
  });

  it('the exposed-key banner goes once the key is revoked from the list', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaky-two' } })).body;
    await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value, url: 'https://example.com/x' }] } });
    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}`);
    await page.reload();
    const banner = page.locator('.banner-danger').getByText('leaky-two');
    await banner.waitFor();
    await page.getByRole('button', { name: 'Revoke leaky-two' }).click();
    await page.getByRole('dialog', { name: 'Revoke secret key' }).getByRole('button', { name: 'Revoke key' }).click();
    await banner.waitFor({ state: 'detached' });
  });

  it("focus goes to the page's heading when the control that opened a dialog is gone (a revoked key's row)", async () => {
    for (const n of ['k-a', 'k-b']) await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: n } });
    await page.reload();
    await page.getByRole('button', { name: 'Revoke k-b' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Revoke secret key' }).getByRole('button', { name: 'Revoke key' }).focus();
    await page.keyboard.press('Enter');
    await s.row('k-b').waitFor({ state: 'detached' });
    const focused = () => page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent}`);
    await expect.poll(focused).toBe('H1 API keys');
    // On a key's page, its Revoke button goes with the revocation.
    await s.row('k-a').getByRole('link', { name: 'k-a' }).click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke secret key' }).getByRole('button', { name: 'Revoke key' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await expect.poll(focused).toBe('H1 k-a');
  });

  it("the audit log shows the answer to the filters chosen last, not a slower earlier one's", async () => {
    await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'audit-me' } });
    await page.goto(`${t.url}/#/settings/audit-log`);
    await page.locator('.audit-table').waitFor();
    // The project alone answers late; the project and the event type at once.
    const alone = (url: string) => url.includes('project_ids') && !url.includes('event_types');
    const slow = async (r: import('playwright-core').Route) => {
      if (alone(r.request().url())) await new Promise((x) => setTimeout(x, 500));
      await r.continue();
    };
    await page.route('**/v1/organization/audit_logs*', slow);
    const slowAnswer = page.waitForResponse((r) => r.url().includes('/audit_logs') && alone(r.url()));
    await page.getByLabel('Project').selectOption({ label: 'Default project' }); // answers late, with entries
    await page.getByLabel('Event').selectOption('project.archived'); // answers at once: none
    await page.getByText('No events match these filters.').waitFor();
    await slowAnswer;
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
    expect(await page.locator('.audit-table tbody tr').count()).toBe(0);
    await page.unroute('**/v1/organization/audit_logs*', slow);
  });

  it('asks before deleting a provider key, a webhook or an invitation; a refused provider key rotation keeps its dialog', async () => {
    const provider = (await t.api('POST', `${ORG}/providers`, { body: { name: 'spare', base_url: 'https://llm.example.com/v1', models: ['m1'] } })).body;
    const cred = (await t.api('POST', `${ORG}/providers/${provider.id}/credentials`, { body: { value: 'sk-upstream-0123456789' } })).body;
    const creds = async () => ((await t.api('GET', `${ORG}/providers/${provider.id}/credentials`)).body.data as unknown[]).length;
    await page.goto(`${t.url}/#/settings/providers`);
    const remove = page.getByRole('button', { name: `Delete key ${cred.redacted_value}` });
    await remove.click();
    const ask = page.getByRole('dialog', { name: 'Delete provider key' });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await creds()).toBe(1);

    const refuse = (r: import('playwright-core').Route) =>
      r.fulfill({ status: 400, contentType: 'application/json', body: '{"error":{"message":"That key is refused.","type":"invalid_request_error","code":"invalid_value"}}' });
    await page.route('**/rotate', refuse);
    await page.getByRole('region', { name: 'Provider spare' }).getByRole('button', { name: 'Rotate' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate provider key' });
    await rotate.getByLabel('New key').fill('sk-upstream-new-0000');
    await rotate.getByRole('button', { name: 'Rotate key' }).click();
    await rotate.getByText('That key is refused.').waitFor();
    expect(await rotate.getByLabel('New key').inputValue()).toBe('sk-upstream-new-0000');
    await page.unroute('**/rotate', refuse);
    await rotate.getByRole('button', { name: 'Cancel' }).click();

    await remove.click();
    await ask.getByRole('button', { name: 'Delete key' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(await creds()).toBe(0);

    const hook = (await t.api('POST', `${ORG}/webhooks`, { body: { url: 'https://hooks.example.com/tollgate' } })).body;
    await page.goto(`${t.url}/#/limits`);
    await page.getByRole('button', { name: `Delete webhook ${hook.url}` }).click();
    await page.getByRole('dialog', { name: 'Delete webhook' }).getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByRole('button', { name: `Delete webhook ${hook.url}` }).waitFor({ state: 'detached' });
    expect((await t.api('GET', `${ORG}/webhooks`)).body.data).toHaveLength(0);

    await t.api('POST', `${ORG}/invites`, { body: { email: 'invitee@example.com', role: 'reader' } });
    await page.goto(`${t.url}/#/settings/members`);
    await page.getByRole('button', { name: 'Withdraw invitation for invitee@example.com' }).click();
    const withdraw = page.getByRole('dialog', { name: 'Withdraw invitation' });
    await withdraw.getByRole('button', { name: 'Withdraw invitation' }).click();
    await withdraw.waitFor({ state: 'detached' });
    const invites = (await t.api('GET', `${ORG}/invites`)).body.data as Array<{ email: string; status: string }>;
    expect(invites.filter((i) => i.email === 'invitee@example.com' && i.status !== 'accepted')).toHaveLength(0);
  });
});

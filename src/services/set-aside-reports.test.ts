import { describe, expect, it } from 'vitest';
import { type ProviderCredentialSetAside, SetAsideReports } from './provider-credentials.js';

// Set-asides of a provider credential are reported (audit entry and webhooks) at most once a minute per credential,
// the ones in between counted in the next report: a client naming a new model per request cannot turn each request
// into an audit entry and a webhook.

const setAside = (credential: string, model: string): ProviderCredentialSetAside => ({
  provider: 'openai',
  credential,
  status: 403,
  scope: `POST /chat/completions ${model}`,
  forMs: 3_600_000,
});

describe('SetAsideReports', () => {
  it("reports a credential's first set-aside at once, then at most one a minute, with the count of those in between", async () => {
    let now = 1_000_000;
    const sent: Array<[string, string, number]> = [];
    const reports = new SetAsideReports(
      () => now,
      async (e, unreported) => {
        sent.push([e.credential, e.scope, unreported]);
      },
    );
    expect(reports.add(setAside('OPENAI_A', 'm1'))).not.toBeNull();
    for (let i = 2; i <= 50; i++) {
      now += 1_000;
      // Within the minute after the report: counted, not sent.
      if (now - 1_000_000 < 60_000) expect(reports.add(setAside('OPENAI_A', `m${i}`))).toBeNull();
      else reports.add(setAside('OPENAI_A', `m${i}`));
    }
    // Another credential is reported on its own.
    await reports.add(setAside('OPENAI_B', 'm1'));
    now += 60_000;
    await reports.add(setAside('OPENAI_A', 'last'));
    expect(sent).toEqual([
      ['OPENAI_A', 'POST /chat/completions m1', 0],
      ['OPENAI_B', 'POST /chat/completions m1', 0],
      ['OPENAI_A', 'POST /chat/completions last', 49],
    ]);
  });
});

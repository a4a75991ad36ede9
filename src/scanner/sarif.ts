import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PublicFinding } from './findings.js';
import { describeFinding } from './format.js';
import type { SecretType } from './patterns.js';

// SARIF 2.1.0 (OASIS), the format code-scanning dashboards such as GitHub's ingest. Built from public
// findings only: the secret itself never enters the document.

const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

interface RuleInfo {
  id: string;
  name: string;
  text: string;
}

/** The SARIF rule for each kind of secret; ids are stable so dashboards can track results over time. */
export const SARIF_RULES: Readonly<Record<SecretType, RuleInfo>> = {
  tollgate: { id: 'tollgate-secret', name: 'TollgateSecret', text: 'Tollgate API key (sk-tg-…) with a valid checksum' },
  openai: { id: 'openai-key', name: 'OpenAIKey', text: 'OpenAI API key' },
  anthropic: { id: 'anthropic-key', name: 'AnthropicKey', text: 'Anthropic API key' },
  aws: { id: 'aws-access-key-id', name: 'AwsAccessKeyId', text: 'AWS access key id' },
  github: { id: 'github-token', name: 'GitHubToken', text: 'GitHub token' },
};

type Level = 'error' | 'warning' | 'note';

// A live or unchecked Tollgate key is the emergency; another provider's key is worth a look; a dead
// Tollgate key is history.
function levelOf(f: PublicFinding): Level {
  if (f.type !== 'tollgate') return 'warning';
  return f.live === false ? 'note' : 'error';
}

// SARIF wants URI references: relative paths percent-encoded with forward slashes, absolute ones as file URLs.
function artifactUri(file: string): string {
  return isAbsolute(file) ? pathToFileURL(file).href : encodeURI(file.replaceAll('\\', '/'));
}

function propertiesOf(f: PublicFinding): { properties?: Record<string, string | boolean> } {
  const properties = { ...(f.commit ? { commit: f.commit } : f.found_in ? { found_in: f.found_in } : {}), ...(f.in_name ? { in_name: true } : {}) };
  return Object.keys(properties).length > 0 ? { properties } : {};
}

/** The findings as a SARIF 2.1.0 log with one run. */
export function formatSarif(findings: readonly PublicFinding[]): string {
  const used = [...new Set(findings.map((f) => f.type))];
  const types = (Object.keys(SARIF_RULES) as SecretType[]).filter((t) => used.includes(t));
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tollgate-scan',
            rules: types.map((t) => ({
              id: SARIF_RULES[t].id,
              name: SARIF_RULES[t].name,
              shortDescription: { text: SARIF_RULES[t].text },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: SARIF_RULES[f.type].id,
          ruleIndex: types.indexOf(f.type),
          level: levelOf(f),
          message: { text: describeFinding(f) },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: artifactUri(f.file) },
                // A secret in a name is in no line of the artifact: SARIF regions start at line 1.
                ...(f.in_name ? {} : { region: { startLine: f.line, startColumn: f.column } }),
              },
            },
          ],
          ...propertiesOf(f),
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

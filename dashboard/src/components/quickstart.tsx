import { getInstance } from '../api-client.js';
import { useResource } from '../use-resource.js';
import { CopyButton } from './copy-button.js';

/** How to call the API with a key: the same request in curl, Python and Node, against this server, with a model it serves. */
export function Quickstart() {
  const instance = useResource(() => getInstance(), []);
  const base = `${location.origin}/v1`;
  // A model that answers on this instance (the echo model without providers); a placeholder when none is known.
  const known = instance.data?.quickstart_model ?? null;
  const model = known ?? 'YOUR_MODEL';
  const snippets = [
    {
      title: 'curl',
      code: `curl ${base}/chat/completions \\
  -H "Authorization: Bearer $TOLLGATE_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
    },
    {
      title: 'Python',
      code: `import os
from openai import OpenAI

client = OpenAI(base_url="${base}", api_key=os.environ["TOLLGATE_API_KEY"])
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`,
    },
    {
      title: 'Node',
      code: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}", apiKey: process.env.TOLLGATE_API_KEY });
const reply = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello!" }],
});
console.log(reply.choices[0].message.content);`,
    },
  ];
  return (
    <div class="quickstart">
      <p>
        Tollgate speaks the OpenAI API. Point any OpenAI SDK at <code>{base}</code> and use a Tollgate key instead of a provider's key; keep the
        key in an environment variable such as <code>TOLLGATE_API_KEY</code>, never in source code.
      </p>
      {known === 'tollgate-echo' && (
        <p class="muted small">
          No upstream provider is configured yet, so the built-in <code>tollgate-echo</code> model answers: it repeats what it is sent, and is
          free.
        </p>
      )}
      {instance.data && !known && <p class="muted small">Replace YOUR_MODEL with a model your provider serves.</p>}
      {snippets.map((s) => (
        <section key={s.title} class="snippet" aria-label={`${s.title} example`}>
          <div class="snippet-head">
            <h3>{s.title}</h3>
            <CopyButton text={s.code} label={`Copy ${s.title} example`} class="button button-small" />
          </div>
          {/* Focusable, so a keyboard can scroll a line wider than the screen (axe scrollable-region-focusable). */}
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
          <pre tabIndex={0}>
            <code>{s.code}</code>
          </pre>
        </section>
      ))}
    </div>
  );
}

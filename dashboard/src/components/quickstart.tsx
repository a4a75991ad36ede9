import { CopyButton } from './copy-button.js';

/** How to call the API with a key: the same request in curl, Python and Node, against this server. */
export function Quickstart() {
  const base = `${location.origin}/v1`;
  const snippets = [
    {
      title: 'curl',
      code: `curl ${base}/chat/completions \\
  -H "Authorization: Bearer $TOLLGATE_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}'`,
    },
    {
      title: 'Python',
      code: `import os
from openai import OpenAI

client = OpenAI(base_url="${base}", api_key=os.environ["TOLLGATE_API_KEY"])
reply = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`,
    },
    {
      title: 'Node',
      code: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}", apiKey: process.env.TOLLGATE_API_KEY });
const reply = await client.chat.completions.create({
  model: "gpt-4o-mini",
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
      {snippets.map((s) => (
        <section key={s.title} class="snippet" aria-label={`${s.title} example`}>
          <div class="snippet-head">
            <h3>{s.title}</h3>
            <CopyButton text={s.code} label={`Copy ${s.title} example`} class="button button-small" />
          </div>
          <pre>
            <code>{s.code}</code>
          </pre>
        </section>
      ))}
    </div>
  );
}

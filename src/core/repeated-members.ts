// JSON.parse keeps the last of two members of one name, other readers the first or refuse (RFC 8259 §4: names
// "SHOULD be unique"); `{"permissions":"read_only","permissions":"all"}` made a full-access key. The control plane's
// bodies are refused when an object names a member twice, which JSON.parse cannot tell, so the text is scanned.

/** A member named twice: its name as decoded, and the dotted path of its second occurrence (`projects.1.role`). */
export interface RepeatedMember {
  name: string;
  path: string;
}

type Frame = { keys: Set<string>; key: string } | { keys: null; index: number };

/**
 * The first member that an object of a valid JSON text names twice, at any depth (names compared after decoding
 * escapes: `"na\u006de"` is `"name"`), or null. One pass, no recursion and no regular expression: time and memory
 * linear in the text, which the body limit bounds.
 */
export function findRepeatedMember(text: string): RepeatedMember | null {
  const stack: Frame[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      // To the closing quote: one not preceded by an odd run of backslashes, found with indexOf (the string's
      // characters are not looked at one by one: a prompt's text is most of a model call's body).
      let end = text.indexOf('"', start + 1);
      while (end > 0 && text.charCodeAt(end - 1) === 0x5c) {
        let k = end - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((end - 1 - k) % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      i = end < 0 ? n : end;
      const top = stack[stack.length - 1];
      if (!expectKey || !top || top.keys === null) continue;
      const raw = text.slice(start + 1, i);
      const name = raw.includes('\\') ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
      top.key = name;
      if (top.keys.has(name)) return { name, path: pathOf(stack) };
      top.keys.add(name);
      expectKey = false;
    } else if (c === 0x7b) {
      stack.push({ keys: new Set(), key: '' });
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push({ keys: null, index: 0 });
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.keys === null) top.index++;
      expectKey = top !== undefined && top.keys !== null;
    }
  }
  return null;
}

function pathOf(stack: Frame[]): string {
  return stack.map((f) => (f.keys === null ? String(f.index) : f.key)).join('.');
}

/** What a refusal of a repeated member says, and the `param` it names (`where`: what held it, when not the body). */
export function repeatedMemberProblem(repeated: RepeatedMember, where = 'the JSON body of your request'): { message: string; param: string } {
  // A name may be as long as the body: the answer shows its start.
  const param = repeated.path.length > 200 ? `${repeated.path.slice(0, 200)}…` : repeated.path;
  return { message: `We could not parse ${where}: it names '${param}' more than once (JSON readers differ on which one counts); name each member once.`, param };
}

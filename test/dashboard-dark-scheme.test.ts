import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLOUR_RULES } from './harness/dashboard-browser.js';

// The browser suites scan each dark view with the colour rules of axe only (COLOUR_RULES), trusting that the dark scheme
// changes nothing but colours: the light view of the same width, scanned with every rule just before, has the same
// structure and layout. This keeps that true: the stylesheet's dark blocks set colours only, and no script of the
// dashboard asks which scheme is on (which could render something else in the dark).

const SRC = join(import.meta.dirname, '..', 'dashboard', 'src');
const COLOUR = /#[0-9a-f]{3,8}\b|\b(rgba?|hsla?|oklch|oklab|lab|lch|color-mix)\([^)]*\)/gi;
/** Properties that take a colour and change nothing else. */
const COLOUR_PROPERTIES = new Set(['color', 'background-color', 'border-color', 'outline-color', 'fill', 'stroke', 'caret-color', 'accent-color', 'text-decoration-color']);

/** The declarations of a block of CSS, `property: value`, in order. */
function declarations(css: string): Array<[string, string]> {
  return [...css.matchAll(/([-\w]+)\s*:\s*([^;{}]+);/g)].map((m) => [m[1], m[2].trim()]);
}

/** Each `@media (prefers-color-scheme: dark) { … }` block's inside. */
function darkBlocks(css: string): string[] {
  const blocks: string[] = [];
  for (const m of css.matchAll(/@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{/g)) {
    let depth = 1;
    let i = (m.index ?? 0) + m[0].length;
    const start = i;
    for (; depth > 0 && i < css.length; i++) depth += css[i] === '{' ? 1 : css[i] === '}' ? -1 : 0;
    blocks.push(css.slice(start, i - 1));
  }
  return blocks;
}

/** What the dark blocks set that is not a colour, for `css` (empty when they set colours only). */
function notColours(css: string): string[] {
  const light = new Map(declarations(css.replace(/@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{(?:[^{}]|\{[^{}]*\})*\}/g, '')));
  const found: string[] = [];
  for (const block of darkBlocks(css)) {
    for (const [property, value] of declarations(block)) {
      if (COLOUR_PROPERTIES.has(property) && value.replace(COLOUR, '').trim() === '') continue;
      // A custom property: its value with the colours taken out must be its light value with the colours taken out.
      const lightValue = light.get(property);
      if (property.startsWith('--') && lightValue !== undefined && value.replace(COLOUR, 'C') === lightValue.replace(COLOUR, 'C')) continue;
      found.push(`${property}: ${value}`);
    }
  }
  return found;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('the dark scheme changes colours only (the browser suites scan dark views with the colour rules alone)', () => {
  it('the stylesheet has dark blocks, and they set colours and nothing else', () => {
    const css = readFileSync(join(SRC, 'styles.css'), 'utf8');
    expect(darkBlocks(css).length).toBeGreaterThan(0);
    expect(notColours(css)).toEqual([]);
  });

  it('catches a dark block that changes more than colours', () => {
    const light = ':root { --bg: #fff; --shadow: 0 1px 2px rgb(0 0 0 / 5%); --gap: 8px; }\n.a { color: #000; }\n';
    expect(notColours(`${light}@media (prefers-color-scheme: dark) { :root { --bg: #111; --shadow: 0 1px 2px rgb(0 0 0 / 40%); } .a { color: #fff; } }`)).toEqual([]);
    expect(notColours(`${light}@media (prefers-color-scheme: dark) { :root { --gap: 4px; } }`)).toEqual(['--gap: 4px']);
    expect(notColours(`${light}@media (prefers-color-scheme: dark) { :root { --shadow: 0 4px 2px rgb(0 0 0 / 40%); } }`)).toEqual(['--shadow: 0 4px 2px rgb(0 0 0 / 40%)']);
    expect(notColours(`${light}@media (prefers-color-scheme: dark) { .a { display: none; } }`)).toEqual(['display: none']);
    expect(notColours(`${light}@media (prefers-color-scheme: dark) { .a { --new: #000; } }`)).toEqual(['--new: #000']);
  });

  it('no script of the dashboard reads the colour scheme', () => {
    const readers = files(SRC)
      .filter((f) => /\.(ts|tsx)$/.test(f))
      .filter((f) => /matchMedia|prefers-color-scheme|colorScheme/.test(readFileSync(f, 'utf8')));
    expect(readers).toEqual([]);
  });

  it('the colour rules are axe rules that judge colours', async () => {
    const { createRequire } = await import('node:module');
    const axe = createRequire(import.meta.url)('axe-core') as { getRules(): Array<{ ruleId: string; tags: string[] }> };
    const known = new Map(axe.getRules().map((r) => [r.ruleId, r.tags]));
    for (const rule of COLOUR_RULES) expect(known.get(rule), rule).toContain('cat.color');
  });
});

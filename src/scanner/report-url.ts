import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_EXPOSED_URL_LENGTH } from '../core/exposure-report.js';
import type { Finding } from './findings.js';
import { redactSecretsInText } from './patterns.js';

// The `url` a report of an exposed key carries: where the key was found, as a `file:` URL. The server stores it as the
// key's exposed_url, and the gateway tells it to whoever presents the key; it refuses a url past its cap (with the
// whole request, and so every key in it), so a url is never longer than that.

// `…`, percent-encoded: what stands for the part of a long path left out.
const ELLIPSIS = encodeURI('…');

/**
 * Where a finding is: `file:///abs/path#L<line>`, or `file:///repo#<commit|staged>:<path>:<line>` in a repository (a
 * secret in a name has no line). Every secret in the paths is redacted: the holder of a key named in a path is not
 * whoever the gateway tells. Shortened in the middle to fit the server's cap.
 */
export function reportUrl(f: Finding, root: string, inRepository: boolean): string {
  // Resolved first: the working directory may be named after a key too.
  if (!inRepository) return shortenUrl(`${pathToFileURL(redactSecretsInText(resolve(f.file))).href}${f.inName ? '' : `#L${f.line}`}`);
  const repository = pathToFileURL(redactSecretsInText(resolve(root))).href;
  const file = encodeURI(redactSecretsInText(f.file));
  const line = f.inName ? '' : `:${f.line}`;
  // A blob outside every commit: its file is already a git name for it (the ref, or the blob id).
  return shortenUrl(f.foundIn ? `${repository}#${file}${line}` : `${repository}#${f.commit ?? 'staged'}:${file}${line}`);
}

/**
 * The url, or when longer than `max` its start and end with an encoded `…` between them: a third of the room for the
 * start (the scheme, the top of the path), the rest for the end (the file's name and line). A percent escape is never
 * cut in two, nor a character's bytes, so the result decodes.
 */
export function shortenUrl(url: string, max = MAX_EXPOSED_URL_LENGTH): string {
  if (url.length <= max) return url;
  const room = max - ELLIPSIS.length;
  let headEnd = Math.floor(room / 3);
  // An escape is `%XY`: back off one that would be cut.
  if (url[headEnd - 1] === '%') headEnd -= 1;
  else if (url[headEnd - 2] === '%') headEnd -= 2;
  let tailStart = url.length - (room - Math.floor(room / 3));
  if (url[tailStart - 1] === '%') tailStart += 2;
  else if (url[tailStart - 2] === '%') tailStart += 1;
  // Nor a character's UTF-8 bytes (`%C3%A9`): neither side starts with a continuation byte (%80-%BF).
  while (isContinuation(url, headEnd)) headEnd -= 3;
  while (isContinuation(url, tailStart)) tailStart += 3;
  return url.slice(0, headEnd) + ELLIPSIS + url.slice(tailStart);
}

function isContinuation(url: string, at: number): boolean {
  return url[at] === '%' && /^[89ab]$/i.test(url[at + 1] ?? '');
}

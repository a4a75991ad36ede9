import { TollgateError } from '../../core/errors.js';
import { lineSplitter, readJsonLine } from '../../core/json-lines.js';
import { memberInAnyCase } from '../../core/member-case.js';
import { notFoundMessage } from '../../core/object-families.js';
import { type ObjectRef, requestRefs } from '../../core/object-refs.js';
import { missingObjectScope } from '../../core/object-scopes.js';
import { findRepeatedMember } from '../../core/repeated-members.js';
import type { Upstream, UpstreamRequest } from '../../core/upstream.js';
import { refuseScope } from './authorize.js';
import type { GatewayContext } from './gateway-context.js';
import type { ObjectAccess } from './ownership.js';

// A batch runs the requests of its input file inside the upstream account, where nothing stops a line from naming
// another project's response, file or vector store. So before a batch is made, its input file is read from the
// upstream (streamed, a line at a time) and every object its requests name must be the project's, as if each line
// had been sent through the gateway.

/** Longest line read: the upstream's own limit on a batch request body is far below this. */
const MAX_LINE = 64 * 1024 * 1024;

/** Checks the objects named by the requests of a batch input file; throws 404 naming the line of the first stranger. */
export async function checkBatchInput(g: GatewayContext, access: ObjectAccess, inner: Upstream, req: UpstreamRequest, fileId: string): Promise<void> {
  const up = await inner.send({
    method: 'GET',
    path: `/files/${encodeURIComponent(fileId)}/content`,
    search: '',
    headers: { accept: '*/*' },
    body: null,
    project: req.project,
    client: req.client,
    signal: req.signal,
    // The input file's account: the batch's request is pinned to it (ownership.ts).
    credential: req.credential,
  });
  if (up.statusCode !== 200) {
    await up.body.readAll().catch(() => {});
    throw new TollgateError('upstream_error', `Tollgate could not read the batch input file ${fileId} to check the objects it names (the upstream answered ${up.statusCode}).`);
  }
  // By type and id: one id named as a response by one line and as a conversation by another needs both scopes (keyed
  // by id alone, the first hid the second's: found by an outside review).
  const refs = new Map<string, { ref: ObjectRef; line: number }>();
  const runs = access.plan.batchEndpoint;
  let line = 0;
  const take = (bytes: Buffer) => {
    line++;
    // A line the check cannot read one way only is refused, never skipped: an upstream may read it (NaN, a bare CR
    // ending a line: core/json-lines.ts).
    const read = readJsonLine(bytes);
    if (read.kind === 'blank') return;
    if (read.kind === 'unreadable') {
      throw new TollgateError('invalid_value', `Line ${line} of the batch input file ${fileId} ${read.problem}; Tollgate cannot check the objects it names.`, 'input_file_id');
    }
    const { value: request, text } = read;
    const fields = request !== null && typeof request === 'object' && !Array.isArray(request) ? (request as Record<string, unknown>) : null;
    // A line's members read in any case, as an upstream folding names reads them (member-case.ts); an error names it.
    const onLine = <T>(read: () => T): T => {
      try {
        return read();
      } catch (err) {
        if (err instanceof TollgateError && err.code === 'invalid_value') throw new TollgateError('invalid_value', `Line ${line} of the batch input file ${fileId}: ${err.message}`, 'input_file_id');
        throw err;
      }
    };
    // A line runs the batch's endpoint, as OpenAI requires; an upstream running each line's own URL would run what the
    // key's scope was never checked for (a chat completion in an embeddings batch: found by an outside review), its
    // `url` spelled `URL` too (found by a later review).
    const url = fields === null ? undefined : onLine(() => memberInAnyCase(fields, 'url'));
    if (runs !== null && url !== undefined && url !== runs) {
      throw new TollgateError('invalid_value', `Line ${line} of the batch input file ${fileId} runs ${JSON.stringify(url)?.slice(0, 200)}, not the batch's endpoint '${runs.slice(0, 200)}'.`, 'input_file_id');
    }
    // A member named twice hides the first value from JSON.parse, not from a reader that keeps it.
    const repeated = findRepeatedMember(text);
    if (repeated) {
      throw new TollgateError(
        'invalid_value',
        `Line ${line} of the batch input file ${fileId} names '${repeated.path.slice(0, 200)}' more than once (JSON readers differ on which one counts); Tollgate cannot check the objects it names.`,
        'input_file_id',
      );
    }
    // The line's `body` in any case, and the members its objects are decided on (member-case.ts), as an upstream
    // folding names reads them (`"Body": {…}` named another project's objects unchecked).
    const named: ObjectRef[] = fields === null ? [] : onLine(() => requestRefs(memberInAnyCase(fields, 'body') ?? null));
    for (const ref of named) {
      const key = `${ref.type}\0${ref.id}`;
      if (!refs.has(key)) refs.set(key, { ref, line });
    }
  };
  const lines = lineSplitter(take, MAX_LINE, () => new TollgateError('invalid_value', `A line of the batch input file ${fileId} is longer than ${MAX_LINE} bytes.`, 'input_file_id'));
  const piped = up.body.pipe((chunk) => {
    lines.push(chunk);
    return true;
  });
  try {
    await piped.done;
  } catch (err) {
    if (err instanceof TollgateError) throw err;
    throw new TollgateError('upstream_error', `Tollgate could not read the batch input file ${fileId} to check the objects it names.`);
  }
  lines.end();
  // Each line is a POST the key makes through the batch: the objects it names need their scopes as if sent alone.
  const missing = missingObjectScope(access.permissions, 'write', [...refs.values()].map((r) => r.ref));
  if (missing) refuseScope(g, missing.resource, missing.level);
  if (refs.size === 0 || !g.objects) return;
  const owners = await g.objects.owners.owners([...new Set([...refs.values()].map((r) => r.ref.id))]);
  for (const { ref, line: at } of refs.values()) {
    if (owners.get(ref.id)?.projectId !== access.projectId) {
      throw new TollgateError('not_found', `Line ${at} of the batch input file ${fileId}: ${notFoundMessage(ref.type, ref.id)}`, 'input_file_id');
    }
  }
}

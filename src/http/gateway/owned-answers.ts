import { TollgateError } from '../../core/errors.js';
import { isJsonMediaType, mediaTypeOf, readsAsEventStream } from '../../core/media-types.js';
import { type AnswerObjects, answerObjects, eventObjects, OBJECT_EVENTS } from '../../core/object-answers.js';
import { eventData, SseFramer, splitEvents, withLoneCrAsLf } from '../../core/sse.js';
import type { BodyPipe, ChunkSink, Upstream, UpstreamBody, UpstreamRequest, UpstreamResponse } from '../../core/upstream.js';
import { markObjectDeleted, projectsOwning, recordObjects } from '../../services/upstream-objects.js';
import type { GatewayContext } from './gateway-context.js';
import { markModelListingStale } from './model-listing-stale.js';
import { filterList } from './owned-lists.js';
import { BUFFER_LIMIT, readBounded } from './pass-through.js';
import type { ObjectAccess } from './ownership.js';

/** The upstream and the request, for the further pages a filtered list needs. */
export interface Origin {
  inner: Upstream;
  req: UpstreamRequest;
}

/**
 * Reads what a successful answer does to objects before the client sees it: records the objects it creates (a write
 * committed before the answer goes on: an answer whose objects cannot be recorded is not delivered, so no project
 * holds an id it cannot use), adopts the ones the upstream made for the caller, filters a shared list, and marks a
 * deletion. Answers that carry no objects (errors, file contents, audio) pass untouched.
 */
export async function settleAnswer(g: GatewayContext, access: ObjectAccess, up: UpstreamResponse, origin: Origin): Promise<UpstreamResponse> {
  const { plan } = access;
  if (up.statusCode < 200 || up.statusCode >= 300) return up;
  // The credential that answered: its provider account holds what the answer creates (a pool's credential, else the
  // provider's one; null for a provider with no key).
  const credential = up.credential ?? origin.inner.credential;
  if (plan.deletes) await markDeleted(g, access, plan.deletes.id);
  if (plan.creates?.from === 'location') {
    const id = idFromLocation(up.headers.location);
    if (id) await record(g, access, { created: [{ type: plan.creates.type, id, createdAt: null }], produced: [] }, credential);
    return up;
  }
  // File contents (and whatever else a `…/content` route serves) stream through untouched: they name no objects.
  if ((!plan.creates && !plan.list && !plan.adopts && !plan.adoptsContainer) || origin.req.path.endsWith('/content')) return up;
  const type = up.headers['content-type'];
  let body = up.body;
  // A list is read whatever it is called (core/media-types.ts): one passed on unread would show the caller every
  // project's objects (a list answered `Application/JSON` was, found by a review); one that is no JSON is refused.
  // Any other answer is read as JSON whatever it is called too: one naming its new object as `text/plain`, or with no
  // Content-Type, reached the client unrecorded, and its creator got 404 for it (found by a review). One that is not
  // declared JSON is read whole only up to BUFFER_LIMIT (no object's answer is larger): past it, it goes on unread.
  if (!plan.list) {
    if (readsAsEventStream(type, access.streams)) return { ...up, body: new InspectedStream(up.body, streamInspector(g, access, credential)) };
    if (!isJsonMediaType(mediaTypeOf(type))) {
      const read = await readBounded(up.body, BUFFER_LIMIT);
      if (read.over) return { ...up, body: collectedOnRead(read.body) };
      body = read.body;
    }
  }
  let buf = await body.readAll();
  let answer: unknown;
  try {
    answer = JSON.parse(buf.toString('utf8'));
  } catch {
    if (plan.list) throw new TollgateError('upstream_error', `The upstream provider '${origin.inner.name}' answered a list with malformed JSON.`);
    return withBody(up, buf);
  }
  if (plan.list) {
    answer = await filterList(g, access, answer, origin);
    buf = Buffer.from(JSON.stringify(answer));
  }
  await record(g, access, answerObjects(plan, answer), credential);
  return withBody(up, buf);
}

/** The last path segment of a Location header (`/v1/realtime/calls/rtc_…`). */
function idFromLocation(location: string | string[] | undefined): string | null {
  const value = Array.isArray(location) ? location[0] : location;
  if (!value) return null;
  const path = value.split('?')[0];
  const id = path.slice(path.lastIndexOf('/') + 1);
  return id === '' ? null : id;
}

async function markDeleted(g: GatewayContext, access: ObjectAccess, id: string): Promise<void> {
  try {
    await markObjectDeleted(g.app.deps, id, access.projectId);
    // Its credential is the request's (pinned to it), if it had one: the cache is refilled from the table otherwise.
    if (access.credential !== null) g.objects?.owners.remember(id, { projectId: access.projectId, deleted: true, createdAt: null, credential: access.credential });
    else g.objects?.owners.forget(id);
  } catch (err) {
    // The object is gone upstream either way; a row left live only costs filtered lists a little.
    g.objects?.onError(err, `could not mark upstream object ${id} deleted`);
  }
}

/**
 * Records created and adopted objects, with the credential whose account holds them (`credential`); a failure refuses
 * the answer (503) and names the object for the operator.
 */
async function record(g: GatewayContext, access: ObjectAccess, found: AnswerObjects, credential: string | null): Promise<void> {
  if (found.created.length === 0 && found.produced.length === 0) return;
  const owner = { projectId: access.projectId, apiKeyId: access.apiKeyId, credential };
  let others: string[];
  try {
    const inserted = await recordObjects(g.app.deps, found.created, owner, 'created');
    const adopted = await recordObjects(g.app.deps, found.produced, owner, 'produced');
    // A model made (a fine-tuning job's, first recorded now) is listed from the next GET /v1/models on.
    if (found.produced.some((o) => o.type === 'model' && adopted.has(o.id)) || found.created.some((o) => o.type === 'model' && inserted.has(o.id))) markModelListingStale(g);
    // A "new" object already recorded is another's when its row says so: an upstream that answered a create with an
    // existing object (a replayed Idempotency-Key) handed this caller another project's conversation, and the owner
    // cache believed the answer over the table (found by an outside review).
    const known = found.created.filter((o) => !inserted.has(o.id)).map((o) => o.id);
    const owners = await projectsOwning(g.app.deps, known);
    others = known.filter((id) => owners.has(id) && owners.get(id) !== access.projectId);
  } catch (err) {
    const ids = [...found.created, ...found.produced].map((o) => o.id).join(', ');
    g.objects?.onError(err, `could not record upstream objects ${ids} of project ${access.projectId}`);
    throw new TollgateError(
      'service_unavailable',
      `The upstream made ${ids}, but Tollgate could not record that it belongs to this project, so it is not usable through this key. Ask an operator to assign it (tollgate objects assign).`,
    );
  }
  if (others.length > 0) {
    throw new TollgateError('conflict', `The upstream answered this request with ${others.join(', ')}, which belongs to another project; it is not shown. (A repeated Idempotency-Key?)`);
  }
  const owners = g.objects?.owners;
  if (!owners) return;
  for (const o of found.created) owners.remember(o.id, { projectId: access.projectId, deleted: false, createdAt: o.createdAt, credential });
  // An adopted id may sit among the ids remembered as nobody's.
  for (const o of found.produced) owners.forget(o.id);
}

function withBody(up: UpstreamResponse, buf: Buffer): UpstreamResponse {
  const headers = { ...up.headers };
  delete headers['content-length'];
  return { statusCode: up.statusCode, headers, body: bufferedBody(buf) };
}

/**
 * A body past the size read whole (readBounded's, which is piped only) that can still be read whole, by whoever reads
 * every answer of its kind whole (a model call's): as it came, unread here.
 */
function collectedOnRead(body: UpstreamBody): UpstreamBody {
  let whole: Promise<Buffer> | undefined;
  const collect = () =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      body.pipe((chunk) => {
        chunks.push(chunk);
        return true;
      }).done.then(() => resolve(Buffer.concat(chunks)), reject);
    });
  return {
    readAll: () => {
      whole ??= collect();
      return whole;
    },
    pipe: (sink) => body.pipe(sink),
  };
}

/** A body already read whole. */
function bufferedBody(buf: Buffer): UpstreamBody {
  return {
    readAll: () => Promise.resolve(buf),
    pipe(sink: ChunkSink): BodyPipe {
      let cancelled = false;
      const done = Promise.resolve().then(() => {
        if (!cancelled && buf.length > 0) sink(buf);
      });
      const cancel = () => {
        cancelled = true;
      };
      return { done, pause() {}, resume() {}, cancel };
    },
  };
}

/** Looks at the complete events of a stream; returns the recording to wait for, or null when they hold no objects. */
export type Inspector = (events: Buffer) => Promise<void> | null;

function streamInspector(g: GatewayContext, access: ObjectAccess, credential: string | null): Inspector {
  const { plan } = access;
  // A stored chat completion names itself in every chunk: the first is enough.
  let chatId = plan.creates?.type === 'chat_completion';
  // An id adopted once is not written again (a Messages stream names its container in message_start and message_delta).
  const adopted = new Set<string>();
  return (events) => {
    const text = events.toString('utf8');
    if (!chatId && !OBJECT_EVENTS.some((m) => text.includes(m))) return null;
    const found: AnswerObjects = { created: [], produced: [] };
    for (const ev of splitEvents(text)) {
      if (!chatId && !OBJECT_EVENTS.some((m) => ev.includes(m))) continue;
      const data = eventData(ev);
      if (!data || data === '[DONE]') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        continue;
      }
      const got = eventObjects(plan, eventName(ev), parsed);
      if (chatId && got.created.length > 0) chatId = false;
      found.created.push(...got.created);
      for (const o of got.produced) {
        if (adopted.has(o.id)) continue;
        adopted.add(o.id);
        found.produced.push(o);
      }
    }
    return found.created.length > 0 || found.produced.length > 0 ? record(g, access, found, credential) : null;
  };
}

function eventName(ev: string): string | null {
  const m = /^event:[ \t]?([^\r\n]*)/m.exec(ev);
  return m ? m[1].trim() : null;
}

/**
 * A Server-Sent Events body passed on event by event, held back at an event that names new objects until they are
 * recorded: no client sees an id before it is the project's. A recording that fails cuts the stream there.
 */
export class InspectedStream implements UpstreamBody {
  constructor(
    private readonly inner: UpstreamBody,
    private readonly inspect: Inspector,
  ) {}

  async readAll(): Promise<Buffer> {
    const buf = await this.inner.readAll();
    // Read as the framer hands events on (lone CRs as LF: core/sse.ts), which the inspector's readers expect.
    const pending = this.inspect(withLoneCrAsLf(buf));
    if (pending) await pending;
    return buf;
  }

  pipe(sink: ChunkSink): BodyPipe {
    const framer = new SseFramer();
    const queue: Buffer[] = [];
    let holds = 0;
    let downstreamPaused = false;
    let innerDone = false;
    let finished = false;
    let settle!: { resolve(): void; reject(err: Error): void };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const fail = (err: Error) => {
      if (finished) return;
      finished = true;
      innerPipe.cancel();
      settle.reject(err);
    };
    const flush = (): boolean => {
      while (queue.length > 0 && holds === 0 && !downstreamPaused && !finished) {
        if (sink(queue.shift() as Buffer) === false) downstreamPaused = true;
      }
      if (queue.length === 0 && innerDone && holds === 0 && !finished) {
        finished = true;
        settle.resolve();
      }
      return queue.length === 0 && holds === 0 && !downstreamPaused;
    };
    const take = (events: Buffer) => {
      const pending = this.inspect(events);
      queue.push(events);
      if (!pending) return;
      holds++;
      pending.then(
        () => {
          holds--;
          if (flush() && !innerDone) innerPipe.resume();
        },
        (err: Error) => fail(err),
      );
    };
    const innerPipe = this.inner.pipe((chunk) => {
      const events = framer.push(chunk);
      if (events) take(events);
      // False holds the upstream until `resume`: while an event waits for its objects, or the client reads slowly.
      return flush();
    });
    innerPipe.done.then(
      () => {
        const rest = framer.rest();
        if (rest) take(rest);
        innerDone = true;
        flush();
      },
      (err: Error) => fail(err),
    );
    return {
      done,
      pause: () => {
        downstreamPaused = true;
      },
      resume: () => {
        downstreamPaused = false;
        if (flush() && !innerDone) innerPipe.resume();
      },
      cancel: () => fail(new Error('cancelled')),
    };
  }
}

import { describe, expect, it } from 'vitest';
import { isJsonMediaType, mediaTypeOf, readsAsEventStream } from './media-types.js';

describe('media types of answers', () => {
  it('reads the media type of a Content-Type in any case, without its parameters', () => {
    expect(mediaTypeOf('Text/Event-Stream; charset=utf-8')).toBe('text/event-stream');
    expect(mediaTypeOf(' application/JSON ')).toBe('application/json');
    expect(mediaTypeOf(['text/plain', 'application/json'])).toBe('text/plain');
    expect(mediaTypeOf(undefined)).toBe('');
    expect(isJsonMediaType('application/problem+json')).toBe(true);
    expect(isJsonMediaType('application/jsonl')).toBe(false);
  });

  it('reads an answer as events when it says so in any case, or when a stream was asked for and it is not JSON', () => {
    for (const type of ['text/event-stream', 'text/event-stream; charset=utf-8', 'TEXT/EVENT-STREAM', 'Text/Event-Stream;charset=utf-8']) {
      expect(readsAsEventStream(type, false), type).toBe(true);
    }
    for (const type of ['text/plain', 'text/event-streams', undefined, '', 'application/octet-stream', 'application/jsonl']) {
      expect(readsAsEventStream(type, true), String(type)).toBe(true);
      expect(readsAsEventStream(type, false), String(type)).toBe(false);
    }
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/problem+json']) expect(readsAsEventStream(type, true), type).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { clientResponseHeaders } from './forward-headers.js';

describe('clientResponseHeaders', () => {
  it('drops the headers each answer\'s own Connection header names, whatever the answer before it named', () => {
    const answer = (connection: string) => ({ connection, 'x-hop': '1', 'x-other': '2', 'content-type': 'application/json' });
    const names = (connection: string) => Object.keys(clientResponseHeaders(answer(connection), 'req_1')).sort();
    expect(names('keep-alive')).toEqual(['content-type', 'x-hop', 'x-other', 'x-request-id']);
    expect(names('keep-alive, X-Hop')).toEqual(['content-type', 'x-other', 'x-request-id']);
    expect(names('keep-alive, X-Hop')).toEqual(['content-type', 'x-other', 'x-request-id']);
    expect(names('x-other')).toEqual(['content-type', 'x-hop', 'x-request-id']);
    expect(names('keep-alive')).toEqual(['content-type', 'x-hop', 'x-other', 'x-request-id']);
    // Without a Connection header nothing more is dropped.
    expect(Object.keys(clientResponseHeaders({ 'x-hop': '1' }, 'req_2')).sort()).toEqual(['x-hop', 'x-request-id']);
  });
});

// The one request every bench run sends: a minimal chat completion, buffered or streamed.

export type Mode = 'non-stream' | 'stream';

export const MODES: readonly Mode[] = ['non-stream', 'stream'];

export const CHAT_PATH = '/v1/chat/completions';

const CHAT = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

/** Request bodies by mode; the streamed one does not ask for usage (Tollgate asks upstream on the client's behalf). */
export const CHAT_BODIES: Record<Mode, string> = { 'non-stream': JSON.stringify(CHAT), stream: JSON.stringify({ ...CHAT, stream: true }) };

// Anthropic's stop reasons ↔ OpenAI's finish reasons (docs/providers.md).

/** OpenAI's finish reason for an Anthropic stop reason. */
export function finishReasonOf(stopReason: unknown): string | null {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    // A long server-tool turn paused: the answer so far ends here (Tollgate's translation sends no server tools).
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      return 'stop';
  }
}

/**
 * Anthropic's stop reason for an OpenAI finish reason. OpenAI does not say which stop sequence ended an answer, so
 * `stop` is always `end_turn` (and `stop_sequence` null).
 */
export function stopReasonOf(finishReason: unknown): string | null {
  switch (finishReason) {
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    case null:
    case undefined:
      return null;
    default:
      return 'end_turn';
  }
}

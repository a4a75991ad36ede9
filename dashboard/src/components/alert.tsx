/** An error message announced to screen readers; renders nothing without a message. */
export function Alert({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p class="alert" role="alert">
      {message}
    </p>
  );
}

/** A short confirmation, announced politely. */
export function Notice({ message }: { message: string | null | undefined }) {
  return (
    <p class="notice" role="status">
      {message ?? ''}
    </p>
  );
}

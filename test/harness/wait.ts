/** Waits until `check` holds, looking every `everyMs`; throws after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000, everyMs = 20): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

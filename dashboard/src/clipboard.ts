/**
 * Copies text; resolves true only when the text verifiably went to the clipboard. The async Clipboard API needs a
 * secure context (https or localhost); over plain http on a LAN it is missing, so the fallback runs the legacy copy
 * command. `from` is the control that asked (a Copy button), to copy from inside its <dialog>.
 */
export async function copyText(text: string, from?: Element | null): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission denied or document not focused: try the fallback.
    }
  }
  return legacyCopy(text, from ?? null);
}

/**
 * The legacy copy command, with the text put on the clipboard by its copy event: the command answers true whether
 * or not anything was copied, so only a copy event that carried the text counts. The selected textarea goes into the
 * open dialog, since everything outside a modal <dialog> is inert: one appended to <body> behind a Save-your-key
 * dialog copied nothing, the button said "Copied", and the secret was lost on Done (found by an outside review over
 * http on a LAN address).
 */
function legacyCopy(text: string, from: Element | null): boolean {
  const host = from?.closest('dialog') ?? document.querySelector('dialog[open]') ?? document.body;
  const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.tabIndex = -1;
  area.className = 'visually-hidden';
  host.appendChild(area);
  let delivered = false;
  const onCopy = (e: ClipboardEvent) => {
    if (!e.clipboardData) return;
    e.clipboardData.setData('text/plain', text);
    e.preventDefault();
    delivered = e.clipboardData.getData('text/plain') === text;
  };
  document.addEventListener('copy', onCopy, true);
  let ok = false;
  try {
    area.focus();
    area.select();
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  } finally {
    document.removeEventListener('copy', onCopy, true);
    area.remove();
    before?.focus();
  }
  return ok && delivered;
}

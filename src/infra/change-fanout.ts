import type { KeyChangeListener } from '../core/ports.js';

/** Passes each key, project or provider change (or the loss of some) to every registered cache. */
export class ChangeFanout implements KeyChangeListener {
  private readonly listeners: KeyChangeListener[] = [];

  add(listener: KeyChangeListener): void {
    this.listeners.push(listener);
  }

  keyChanged(keyId: string): void {
    for (const l of this.listeners) l.keyChanged(keyId);
  }

  projectChanged(projectId: string): void {
    for (const l of this.listeners) l.projectChanged(projectId);
  }

  providerChanged(providerId: string): void {
    for (const l of this.listeners) l.providerChanged?.(providerId);
  }

  everythingChanged(): void {
    for (const l of this.listeners) l.everythingChanged?.();
  }
}

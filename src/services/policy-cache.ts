import type { KeyChangeListener, ServiceDeps } from './context.js';
import { loadProjectPolicy, type ProjectPolicy } from './limits.js';
import type { MaybePromise } from '../core/maybe-promise.js';

/** Project limit policies in memory, loaded on first use and dropped on any change of the project. */
export class PolicyCache implements KeyChangeListener {
  private readonly entries = new Map<string, ProjectPolicy>();
  private readonly inflight = new Map<string, Promise<ProjectPolicy>>();
  private epoch = 0;

  constructor(private readonly deps: ServiceDeps) {}

  get(projectId: string): MaybePromise<ProjectPolicy> {
    const hit = this.entries.get(projectId);
    if (hit) return hit;
    const pending = this.inflight.get(projectId);
    if (pending) return pending;
    const epoch = this.epoch;
    const p = loadProjectPolicy(this.deps, projectId).finally(() => this.inflight.delete(projectId));
    this.inflight.set(
      projectId,
      p.then((policy) => {
        if (epoch === this.epoch) this.entries.set(projectId, policy);
        return policy;
      }),
    );
    return this.inflight.get(projectId) as Promise<ProjectPolicy>;
  }

  keyChanged(): void {}

  projectChanged(projectId: string): void {
    this.epoch++;
    this.entries.delete(projectId);
  }

  everythingChanged(): void {
    this.epoch++;
    this.entries.clear();
  }
}

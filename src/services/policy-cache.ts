import type { KeyChangeListener, ServiceDeps } from './context.js';
import { loadProjectPolicy, type ProjectPolicy } from './limits.js';
import type { MaybePromise } from '../core/maybe-promise.js';

/** Project limit policies in memory, loaded on first use and dropped on any change of the project. */
export class PolicyCache implements KeyChangeListener {
  private readonly entries = new Map<string, ProjectPolicy>();
  /** Loads under way, with the epoch each started in: only one started since the last change may be joined. */
  private readonly inflight = new Map<string, { promise: Promise<ProjectPolicy>; epoch: number }>();
  private epoch = 0;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly load: (deps: ServiceDeps, projectId: string) => Promise<ProjectPolicy> = loadProjectPolicy,
  ) {}

  get(projectId: string): MaybePromise<ProjectPolicy> {
    const hit = this.entries.get(projectId);
    if (hit) return hit;
    // A load started before a change read the limits as they were: a request after the change starts its own.
    const pending = this.inflight.get(projectId);
    if (pending && pending.epoch === this.epoch) return pending.promise;
    const epoch = this.epoch;
    const settled = (): void => {
      if (this.inflight.get(projectId) === entry) this.inflight.delete(projectId);
    };
    const promise = this.load(this.deps, projectId).then(
      (policy) => {
        settled();
        if (epoch === this.epoch) this.entries.set(projectId, policy);
        return policy;
      },
      (err) => {
        settled();
        throw err;
      },
    );
    const entry = { promise, epoch };
    this.inflight.set(projectId, entry);
    return promise;
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

/** One label set's counts. */
interface Series {
  labels: Record<string, string>;
  /** Per bucket (not cumulative); the last is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

type Node = Map<string | number, Node | Series>;

/** What prom-client's Registry reads from a metric at scrape time. */
interface MetricValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram for the gateway's hot path, registered in a prom-client Registry (which reads `get()` at
 * scrape time). prom-client's own `observe` builds a label object and hashes it into a string on every call
 * (measured ~1.5 µs); here label values are looked up through nested maps and the count is two additions.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly root: Node = new Map();
  private readonly all: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    if (labelNames.length < 1 || labelNames.length > 3) throw new Error('FastHistogram takes one to three labels');
  }

  /** Records `value` for the label values given in `labelNames` order (at most three labels: no rest array to allocate). */
  observe(value: number, l0: string | number, l1?: string | number, l2?: string | number): void {
    const s = this.series(l0, l1, l2);
    let i = 0;
    const b = this.buckets;
    while (i < b.length && value > b[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  private series(l0: string | number, l1?: string | number, l2?: string | number): Series {
    const last = this.labelNames.length - 1;
    let node = this.root;
    let key = l0;
    for (let d = 0; d < last; d++) {
      let next = node.get(key) as Node | undefined;
      if (!next) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
      key = (d === 0 ? l1 : l2) ?? '';
    }
    let s = node.get(key) as Series | undefined;
    if (!s) {
      const values = [l0, l1, l2];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = String(values[i]);
      });
      s = { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      node.set(key, s);
      this.all.push(s);
    }
    return s;
  }

  /** Cumulative buckets, sum and count of every label set, in prom-client's shape. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const s of this.all) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.root.clear();
    this.all.length = 0;
  }
}

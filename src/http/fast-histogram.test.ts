import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('FastHistogram', () => {
  it('exports exactly what prom-client’s Histogram exports for the same observations', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h', help: 'latency', labelNames: ['route', 'method', 'status'], buckets: BUCKETS, registers: [theirs] });
    const fast = new FastHistogram('h', 'latency', ['route', 'method', 'status'], BUCKETS);
    ours.registerMetric(fast as never);
    const samples: Array<[number, string, string, number]> = [
      [0.0005, '/v1/*', 'POST', 200],
      [0.01, '/v1/*', 'POST', 200],
      [0.5, '/v1/*', 'POST', 429],
      [3, '/v1/models', 'GET', 200],
      [0.05, '/v1/*', 'GET', 200],
    ];
    for (const [v, route, method, status] of samples) {
      reference.observe({ route, method, status: String(status) }, v);
      fast.observe(v, route, method, status);
    }
    const sorted = (text: string) => text.split('\n').sort().join('\n');
    expect(sorted(await ours.metrics())).toBe(sorted(await theirs.metrics()));
    expect(await ours.metrics()).toContain('h_bucket{le="0.01",route="/v1/*",method="POST",status="200"} 2');
  });

  it('works with fewer labels', async () => {
    const fast = new FastHistogram('u', 'upstream', ['provider', 'outcome'], BUCKETS);
    fast.observe(0.2, 'openai', 'ok');
    fast.observe(2, 'openai', 'ok');
    const { values } = await fast.get();
    const count = values.find((v) => v.metricName === 'u_count');
    expect(count).toEqual({ metricName: 'u_count', labels: { provider: 'openai', outcome: 'ok' }, value: 2 });
    expect(values.find((v) => v.metricName === 'u_bucket' && v.labels.le === 1)?.value).toBe(1);
  });
});

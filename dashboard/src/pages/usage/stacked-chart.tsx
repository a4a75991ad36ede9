import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { formatUtcDay, formatUtcHour, formatUtcTick } from '../../format.js';
import { cumulative, type StackedSeries } from './usage-data.js';

export const PALETTE = ['#0f766e', '#2563eb', '#d97706', '#7c3aed', '#db2777', '#65a30d', '#0891b2', '#dc2626', '#64748b'];

interface StackedChartProps {
  series: StackedSeries;
  labelOf: (key: string) => string;
  formatValue: (v: number) => string;
  /** Accessible description of what the chart shows. */
  title: string;
  hourly: boolean;
  /** Counts (requests, tokens) tick on whole numbers only. */
  integers: boolean;
}

const INTEGER_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((p) => m * p)).sort((a, b) => a - b);

/**
 * Stacked bars over time with uPlot, loaded on first use so the rest of the dashboard stays small.
 * Bars are drawn as running sums, largest first, so each group's band shows (see cumulative()).
 * Buckets are UTC days or hours and are labelled so: the x scale is plain seconds, not uPlot's time scale, which
 * draws in the browser's zone (a UTC day read as the evening before it west of UTC). Ticks on multiples of a day or
 * an hour from the epoch are UTC midnights and hours; uPlot's tzDate would do it too, but its UTC shortcut shifts by
 * the local offset of each instant and names two hours alike at a DST change.
 */
export function StackedChart({ series, labelOf, formatValue, title, hourly, integers }: StackedChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let plot: uPlot | null = null;
    let observer: ResizeObserver | null = null;
    let cancelled = false;
    Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')])
      .then(([{ default: UPlot }]) => {
        const el = box.current;
        if (cancelled || !el) return;
        // Canvas has no currentColor: the axes take the page's own text and border colours (light or dark).
        const style = getComputedStyle(el);
        const axisColor = style.color;
        const gridColor = style.getPropertyValue('--border').trim() || axisColor;
        const sums = cumulative(series.groups);
        const order = series.groups.map((_, k) => k).reverse();
        const bars = UPlot.paths.bars?.({ size: [0.7, 48], gap: 1 });
        const step = hourly ? 3600 : 86_400;
        const first = series.times[0] ?? 0;
        const last = series.times.at(-1) ?? first;
        const opts: uPlot.Options = {
          width: el.clientWidth,
          height: 280,
          // The buckets' own span (uPlot pads a single number's range by a tenth of its size, years of seconds), with half
          // a bucket of room on each side, so the first and last bars are not cut in half.
          scales: { x: { time: false, range: () => [first - step / 2, last + step / 2] } },
          cursor: { points: { show: false } },
          legend: { live: true },
          axes: [
            {
              stroke: axisColor,
              ticks: { stroke: gridColor },
              grid: { show: false },
              // Ticks on whole buckets: whole days for daily data, whole hours for hourly.
              incrs: hourly ? [3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400] : [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400],
              values: (_u, ticks) => ticks.map(formatUtcTick),
            },
            {
              stroke: axisColor,
              ticks: { stroke: gridColor },
              grid: { stroke: gridColor, width: 1 },
              size: 64,
              incrs: integers ? INTEGER_STEPS : undefined,
              values: (_u, ticks) => ticks.map(formatValue),
            },
          ],
          series: [
            { label: hourly ? 'Hour (UTC)' : 'Day (UTC)', value: (_u, v) => (v == null ? '' : hourly ? formatUtcHour(v) : formatUtcDay(v)) },
            ...order.map((k) => ({
              label: labelOf(series.groups[k].key),
              fill: PALETTE[k % PALETTE.length],
              stroke: PALETTE[k % PALETTE.length],
              width: 0,
              paths: bars,
              points: { show: false },
              // The legend shows the group's own value, not the running sum that is drawn.
              value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => (idx == null ? '' : formatValue(series.groups[k].values[idx] ?? 0)),
            })),
          ],
        };
        const data: uPlot.AlignedData = [series.times, ...order.map((k) => sums[k])];
        plot = new UPlot(opts, data, el);
        observer = new ResizeObserver(() => plot?.setSize({ width: el.clientWidth, height: 280 }));
        observer.observe(el);
      })
      .catch(() => setFailed(true));
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [series, labelOf, formatValue, hourly, integers]);
  if (failed) return <p class="alert">The chart could not be loaded; the table below has the same numbers.</p>;
  return <div ref={box} class="chart" role="img" aria-label={title} />;
}

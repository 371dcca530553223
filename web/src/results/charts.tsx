// The Results page's drawings, in inline SVG (no chart library): entries and conversions per
// bucket, a sparkline per step, and a conversion rate with its 95% interval. Each is one image
// whose name says what it shows; the chart's bars have tooltips, and its numbers are a table too.
import { formatNumber } from "../ui/format";
import { bucketText, chartGeometry, chartSummary, intervalText, percentText, sparkline, type Arm, type Bucket, type Series } from "./results";

const WIDTH = 720;
const HEIGHT = 160;

/** Entries (wide bars) and conversions (narrow bars in front) per bucket, on one scale; the numbers as a table below. */
export function ConversionsChart({ series }: { series: Series }) {
  const bucket: Bucket = series.bucket === "hour" ? "hour" : "day";
  const g = chartGeometry(series, WIDTH, HEIGHT);
  const n = series.starts.length;
  const labelled = n === 0 ? [] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const busy = g.bars.filter((b) => b.entered > 0 || b.converted > 0);
  const y = (t: number) => HEIGHT - (t / g.top) * HEIGHT;
  return (
    <figure className="rs-chart">
      <div className="rs-legend" aria-hidden="true">
        <span>
          <span className="rs-swatch rs-swatch-entered" /> Entered
        </span>
        <span>
          <span className="rs-swatch rs-swatch-converted" /> Converted
        </span>
      </div>
      <div className="rs-plot">
        <div className="rs-yaxis" aria-hidden="true">
          {g.ticks.map((t) => (
            <span key={t} style={{ top: `${(y(t) / HEIGHT) * 100}%` }}>
              {formatNumber(t)}
            </span>
          ))}
        </div>
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" width="100%" height={HEIGHT} role="img" aria-label={chartSummary(series)} data-bucket={bucket}>
          {g.ticks.map((t) => (
            <line key={t} className={t === 0 ? "rs-base" : "rs-grid"} x1={0} x2={WIDTH} y1={y(t)} y2={y(t)} vectorEffect="non-scaling-stroke" />
          ))}
          {g.bars.map((b) => (
            <g key={b.start} className="rs-bucket" data-start={b.start} data-entered={b.entered} data-converted={b.converted}>
              <title>{`${bucketText(b.start, bucket)}: ${formatNumber(b.entered)} entered, ${formatNumber(b.converted)} converted`}</title>
              <rect className="rs-hit" x={b.x} y={0} width={b.band} height={HEIGHT} />
              {b.entered > 0 && <rect className="rs-entered" x={b.enteredX} y={b.enteredY} width={b.enteredWidth} height={b.enteredHeight} />}
              {b.converted > 0 && <rect className="rs-converted" x={b.convertedX} y={b.convertedY} width={b.convertedWidth} height={b.convertedHeight} />}
            </g>
          ))}
        </svg>
        <div className="rs-xaxis" aria-hidden="true">
          {labelled.map((i) => (
            <span key={i} style={i === 0 ? { left: 0 } : i === n - 1 ? { right: 0 } : { left: `${((i + 0.5) / n) * 100}%`, transform: "translateX(-50%)" }}>
              {bucketText(series.starts[i], bucket)}
            </span>
          ))}
        </div>
      </div>
      <details className="rs-details">
        <summary>The numbers as a table</summary>
        <table className="table rs-chart-table">
          <caption className="muted">
            Each {bucket} (UTC) with entries or conversions; the others had none.
          </caption>
          <thead>
            <tr>
              <th scope="col">{bucket === "hour" ? "Hour" : "Day"}</th>
              <th scope="col" className="num">
                Entered
              </th>
              <th scope="col" className="num">
                Converted
              </th>
            </tr>
          </thead>
          <tbody>
            {busy.map((b) => (
              <tr key={b.start}>
                <th scope="row">
                  <time dateTime={b.start}>{bucketText(b.start, bucket)}</time>
                </th>
                <td className="num">{formatNumber(b.entered)}</td>
                <td className="num">{formatNumber(b.converted)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 28;

/** A small line of `values` per bucket, its area shaded; `label` says it in words. */
export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const s = sparkline(values, SPARK_WIDTH, SPARK_HEIGHT);
  return (
    <svg className={s.max === 0 ? "rs-spark rs-spark-flat" : "rs-spark"} viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`} width={SPARK_WIDTH} height={SPARK_HEIGHT} role="img" aria-label={label}>
      <title>{label}</title>
      {s.max > 0 && <path className="rs-spark-area" d={s.area} />}
      <path className="rs-spark-line" d={s.line} vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

const BAR_WIDTH = 160;
const BAR_HEIGHT = 18;

/** An arm's conversion rate (the tick) and its 95% interval (the band), on a scale from 0 to `scale`. */
export function IntervalBar({ arm, scale }: { arm: Pick<Arm, "rate" | "low" | "high">; scale: number }) {
  const x = (v: number) => Math.min(1, Math.max(0, v / scale)) * BAR_WIDTH;
  const low = x(arm.low);
  const high = x(arm.high);
  const mid = BAR_HEIGHT / 2;
  return (
    <svg className="rs-interval" viewBox={`0 0 ${BAR_WIDTH} ${BAR_HEIGHT}`} width={BAR_WIDTH} height={BAR_HEIGHT} role="img" aria-label={intervalText(arm.rate, arm.low, arm.high)}>
      <title>{intervalText(arm.rate, arm.low, arm.high)}</title>
      <line className="rs-interval-track" x1={0} x2={BAR_WIDTH} y1={mid} y2={mid} />
      <rect className="rs-interval-band" x={low} y={mid - 4} width={Math.max(2, high - low)} height={8} rx={2} />
      <rect className="rs-interval-rate" x={Math.min(BAR_WIDTH - 3, Math.max(0, x(arm.rate) - 1.5))} y={1} width={3} height={BAR_HEIGHT - 2} rx={1} />
    </svg>
  );
}

/** The scale's ends, for the interval column's head: "0–50%". */
export const scaleText = (scale: number) => `0–${percentText(scale)}`;

// A segment's size at the end of each day, as a small bar chart: inline SVG, no chart library.
// Each bar's tooltip says the day's size and who entered and left; the whole is one image whose
// name says what it shows.
import type { Schemas } from "../api/client";
import { formatNumber } from "../ui/format";
import { peopleText } from "./segments";

const WIDTH = 600;
const HEIGHT = 96;
/** Room above the tallest bar. */
const HEADROOM = 8;

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/** "Jan 5, 2030" for "2030-01-05" (a UTC day); the text itself when it is not a day. */
export function dayText(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : dayFormat.format(d);
}

/** What the chart shows, in words: its first and last day's sizes, the largest, who entered and left. */
export function sizesSummary(days: readonly Schemas["DaySize"][]): string {
  if (days.length === 0) return "No sizes yet.";
  const first = days[0];
  const last = days[days.length - 1];
  const max = Math.max(...days.map((d) => d.size));
  const entered = days.reduce((n, d) => n + d.entered, 0);
  const exited = days.reduce((n, d) => n + d.exited, 0);
  return (
    `Size over the last ${days.length} day${days.length === 1 ? "" : "s"}: ${peopleText(first.size)} on ${dayText(first.day)}, ` +
    `${peopleText(last.size)} on ${dayText(last.day)}; at most ${formatNumber(max)}. ${formatNumber(entered)} entered, ${formatNumber(exited)} left.`
  );
}

export function SizeChart({ days }: { days: readonly Schemas["DaySize"][] }) {
  const max = Math.max(1, ...days.map((d) => d.size));
  const band = WIDTH / Math.max(1, days.length);
  const gap = band > 6 ? 2 : 0;
  const entered = days.reduce((n, d) => n + d.entered, 0);
  const exited = days.reduce((n, d) => n + d.exited, 0);
  return (
    <figure className="size-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" width="100%" height={HEIGHT} role="img" aria-label={sizesSummary(days)}>
        <line className="size-chart-base" x1={0} y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
        {days.map((d, i) => {
          // An empty day still shows a sliver, so the days read as days.
          const h = d.size === 0 ? 1 : Math.max(2, (d.size / max) * (HEIGHT - HEADROOM));
          return (
            <rect key={d.day} className={d.size === 0 ? "size-chart-empty" : undefined} x={i * band + gap / 2} y={HEIGHT - h} width={band - gap} height={h} data-day={d.day}>
              <title>{`${dayText(d.day)}: ${peopleText(d.size)} (${formatNumber(d.entered)} entered, ${formatNumber(d.exited)} left)`}</title>
            </rect>
          );
        })}
      </svg>
      {days.length > 0 && (
        <figcaption className="size-chart-caption">
          <span>{dayText(days[0].day)}</span>
          <span className="muted">
            at most {formatNumber(max)} · {formatNumber(entered)} entered, {formatNumber(exited)} left
          </span>
          <span>{dayText(days[days.length - 1].day)}</span>
        </figcaption>
      )}
    </figure>
  );
}

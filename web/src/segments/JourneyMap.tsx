// The journey map: who moved between lifecycle stages in a period, as a Sankey diagram in inline
// SVG (no chart library). The stages people left are on the left, those they reached on the
// right, in lifecycle order with "No stage" first; each band is as wide as the people who moved,
// coloured by whether it goes further along or back. The whole is one image whose name says
// every move in words; each band and node has a tooltip; the moves are also a table.
import { formatNumber } from "../ui/format";
import { flowsSummary, moveText, SANKEY, sankey, stageText, type Flow } from "./lifecycle";
import { peopleText } from "./segments";

/** Labels longer than this are cut, with the whole in the tooltip. */
const LABEL_CHARS = 22;
/** Bands at least this wide say their count on them. */
const COUNT_ON_BAND = 14;

const cut = (text: string) => (text.length > LABEL_CHARS ? `${text.slice(0, LABEL_CHARS - 1)}…` : text);

export function JourneyMap({ flows, stages, period }: { flows: readonly Flow[]; stages: readonly { id: string; name: string }[]; period: string }) {
  const names = Object.fromEntries(stages.map((s) => [s.id, s.name]));
  const { width, height, nodes, links } = sankey(flows, stages);
  const summary = flowsSummary(flows, names, period);
  const back = links.some((l) => l.direction !== "forward");
  return (
    <figure className="journey-map">
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={summary} className="sankey">
        <text className="sankey-head" x={SANKEY.label + SANKEY.node} y={14} textAnchor="end">
          From
        </text>
        <text className="sankey-head" x={width - SANKEY.label - SANKEY.node} y={14} textAnchor="start">
          To
        </text>
        <g className="sankey-links">
          {links.map((l) => (
            <path
              key={`${l.flow.from ?? ""}>${l.flow.to ?? ""}`}
              d={l.path}
              className={`sankey-link sankey-${l.direction}`}
              data-from={l.flow.from ?? ""}
              data-to={l.flow.to ?? ""}
              data-people={l.flow.people}
            >
              <title>{`${moveText(l.flow.from, l.flow.to, names)}: ${peopleText(l.flow.people)}`}</title>
            </path>
          ))}
        </g>
        <g className="sankey-counts" aria-hidden="true">
          {links
            .filter((l) => l.width >= COUNT_ON_BAND)
            .map((l) => (
              <text key={`${l.flow.from ?? ""}>${l.flow.to ?? ""}`} x={l.x0 + 6} y={l.y0} dominantBaseline="central">
                {formatNumber(l.flow.people)}
              </text>
            ))}
        </g>
        <g className="sankey-nodes">
          {nodes.map((n) => {
            const left = n.side === "from";
            return (
              <g key={`${n.side}:${n.id ?? ""}`} className={n.id === null ? "sankey-node sankey-none" : "sankey-node"} data-side={n.side} data-stage={n.id ?? ""}>
                <rect x={n.x} y={n.y} width={SANKEY.node} height={n.height} rx={2}>
                  <title>{`${n.label}: ${peopleText(n.people)} ${left ? "left it" : "reached it"}`}</title>
                </rect>
                <text x={left ? n.x - 8 : n.x + SANKEY.node + 8} y={n.y + n.height / 2} textAnchor={left ? "end" : "start"} dominantBaseline="central">
                  <tspan className="sankey-name">{cut(n.label)}</tspan>
                  <tspan className="sankey-count" dx={6}>
                    {formatNumber(n.people)}
                  </tspan>
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      <figcaption className="journey-map-legend">
        <span>
          <span className="swatch sankey-forward" aria-hidden="true" /> further along
        </span>
        {back && (
          <span>
            <span className="swatch sankey-back" aria-hidden="true" /> back (to an earlier stage, or to none)
          </span>
        )}
        <span className="muted">Band widths are people; numbers are the people who left or reached each stage.</span>
      </figcaption>
    </figure>
  );
}

/** The same moves as a table: from, to, people. */
export function FlowTable({ flows, stages }: { flows: readonly Flow[]; stages: readonly { id: string; name: string }[] }) {
  const names = Object.fromEntries(stages.map((s) => [s.id, s.name]));
  return (
    <table className="table flow-table">
      <thead>
        <tr>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col" className="num">
            People
          </th>
        </tr>
      </thead>
      <tbody>
        {flows.map((f) => (
          <tr key={`${f.from ?? ""}>${f.to ?? ""}`}>
            <td>{stageText(f.from, names)}</td>
            <td>{stageText(f.to, names)}</td>
            <td className="num">{formatNumber(f.people)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

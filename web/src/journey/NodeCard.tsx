import { Handle, Position, useUpdateNodeInternals, type Node, type NodeProps } from "@xyflow/react";
import { createContext, useContext, useEffect, useRef } from "react";
import type { StepType } from "./doc";
import { AlertIcon } from "../ui/icons";
import { countBadges, type NodeCounts } from "./counts";
import type { CanvasDiagnostic } from "./diagnostics";
import type { GraphNode } from "./graph";
import { KINDS } from "./kinds";
import type { At } from "./ops";
import { StepMenu } from "./edit/fields";

/** An output of a node, for the selected card's "+" and connection handles. */
export interface CardOutput {
  name: string;
  label: string;
  /** Leads nowhere yet: the run ends there. */
  open: boolean;
}

export type DiffMark = "added" | "changed" | "removed";

export type CardData = {
  node: GraphNode;
  title: string;
  /** The one line; `fullText` has every clause. */
  text: string;
  fullText: string;
  counts?: NodeCounts;
  /** The journey's entries, for the counts' shares. */
  entries?: number;
  /** The counts are a backtest's, not live. */
  simulated?: boolean;
  diagnostics: CanvasDiagnostic[];
  mark?: DiffMark;
  /** A send under the journey's quiet hours: them in words ("21:00–08:00, held"). */
  quiet?: string;
  /** Editing: the outputs, shown under the card when it is selected. */
  outputs?: CardOutput[];
};

export type CardNode = Node<CardData, "card">;

/** What an editable canvas lets cards do. */
export const CardActions = createContext<{ insert: (at: At, type: StepType) => void } | null>(null);

function DiagnosticBadge({ items }: { items: CanvasDiagnostic[] }) {
  if (items.length === 0) return null;
  const errors = items.filter((d) => d.severity === "error").length;
  const summary = errors > 0 ? `${errors} error${errors > 1 ? "s" : ""}` : `${items.length} warning${items.length > 1 ? "s" : ""}`;
  const messages = items.map((d) => `${d.severity}: ${d.message}`).join("\n");
  return (
    <span className={`badge ${errors > 0 ? "badge-error" : "badge-warning"}`} role="img" aria-label={`${summary}: ${messages}`} title={messages}>
      <AlertIcon />
      {errors > 0 ? errors : items.length}
    </span>
  );
}

function Endings({ labels }: { labels: string[] }) {
  if (labels.length === 0) return null;
  const named = labels.filter((l) => l !== "");
  const text = named.length > 0 ? `${named.join(", ")} → end` : "end";
  return (
    <span className="card-end" title={named.length > 0 ? `The run ends after: ${named.join(", ")}` : "The run ends here"}>
      {text}
    </span>
  );
}

/** A number that flashes softly when it changes (not when it first shows): no layout moves. */
function Value({ value }: { value: string }) {
  const previous = useRef<string | undefined>(undefined);
  const changed = previous.current !== undefined && previous.current !== value;
  useEffect(() => {
    previous.current = value;
  }, [value]);
  return (
    <strong key={value} className={changed ? "count-bump" : undefined}>
      {value}
    </strong>
  );
}

function Counts({ counts, entries, simulated }: { counts: NodeCounts; entries?: number; simulated?: boolean }) {
  return (
    <ul className={`card-counts${simulated ? " card-counts-sim" : ""}`} aria-label={simulated ? "Simulated counts (backtest)" : "Counts"}>
      {countBadges(counts, entries).map((b) => (
        <li key={b.key} className={`count count-${b.key}`} title={simulated ? `${b.long} (simulated)` : b.long} aria-label={simulated ? `${b.long} (simulated)` : b.long}>
          <span className="count-value">
            <Value value={b.value} />
            {b.share !== undefined && b.key !== "entered" && <small>{b.share}</small>}
          </span>
          <span>{b.short}</span>
        </li>
      ))}
    </ul>
  );
}

/** Under the selected card: each output, with a handle to drag onto a step and a "+" to add one there. */
function Outputs({ id, outputs }: { id: string; outputs: CardOutput[] }) {
  const actions = useContext(CardActions);
  if (!actions) return null;
  return (
    <div className="card-outputs nodrag nopan">
      {outputs.map((o) => (
        <div key={o.name} className={`card-output${o.open ? " card-output-open" : ""}`}>
          <Handle type="source" position={Position.Bottom} id={o.name} className="output-handle" title={`Drag onto a step: ${o.label} goes there`} />
          <span className="card-output-label">{o.label}</span>
          <StepMenu label="+" className="output-add" title={`Add a step at ${o.label}`} onPick={(t) => actions.insert({ source: id, output: o.name }, t)} />
        </div>
      ))}
    </div>
  );
}

/** A node's card: icon and colour of its kind, title, what it does, counts and problems. */
export function NodeCard({ id, data, selected }: NodeProps<CardNode>) {
  const { node, title, text, fullText, counts, entries, diagnostics, simulated, mark, quiet, outputs } = data;
  const { label, Icon } = KINDS[node.kind];
  const editable = outputs !== undefined;
  // The outputs' handles come and go with the selection: React Flow measures handles again only when told.
  const updateInternals = useUpdateNodeInternals();
  const handles = editable && selected ? outputs.map((o) => o.name).join(" ") : "";
  useEffect(() => {
    if (editable) updateInternals(id);
  }, [handles]);
  return (
    <div className="card" data-kind={node.kind} data-diff={mark}>
      <Handle type="target" position={Position.Top} isConnectable={editable} className={editable ? "target-handle" : undefined} />
      <div className="card-head">
        <span className="card-icon">
          <Icon />
        </span>
        <span className="card-kind">{label}</span>
        {mark && <span className={`diff-mark diff-${mark}`}>{mark}</span>}
        {quiet && (
          <span className="card-quiet" title={`Quiet hours ${quiet}: set for the whole journey`}>
            quiet hours
          </span>
        )}
        <Endings labels={node.endings} />
        <DiagnosticBadge items={diagnostics} />
      </div>
      <div className="card-title">{title}</div>
      <p className="card-text" title={fullText}>
        {text}
      </p>
      {counts && <Counts counts={counts} entries={entries} simulated={simulated} />}
      {!editable && <Handle type="source" position={Position.Bottom} isConnectable={false} />}
      {editable && !selected && <Handle type="source" position={Position.Bottom} isConnectable={false} id="next" />}
      {editable && selected && outputs.length > 0 && <Outputs id={id} outputs={outputs} />}
    </div>
  );
}

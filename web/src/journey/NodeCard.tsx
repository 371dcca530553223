import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { AlertIcon } from "../ui/icons";
import { countBadges, type NodeCounts } from "./counts";
import type { CanvasDiagnostic } from "./diagnostics";
import type { GraphNode } from "./graph";
import { KINDS } from "./kinds";

export type CardData = {
  node: GraphNode;
  title: string;
  /** The one line; `fullText` has every clause. */
  text: string;
  fullText: string;
  counts?: NodeCounts;
  /** The journey's entries, for the counts' shares. */
  entries?: number;
  diagnostics: CanvasDiagnostic[];
};

export type CardNode = Node<CardData, "card">;

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

function Counts({ counts, entries }: { counts: NodeCounts; entries?: number }) {
  return (
    <ul className="card-counts" aria-label="Counts">
      {countBadges(counts, entries).map((b) => (
        <li key={b.key} className={`count count-${b.key}`} title={b.long} aria-label={b.long}>
          <strong>{b.value}</strong>
          <span>{b.short}</span>
        </li>
      ))}
    </ul>
  );
}

/** A node's card: icon and colour of its kind, title, what it does, counts and problems. */
export function NodeCard({ data }: NodeProps<CardNode>) {
  const { node, title, text, fullText, counts, entries, diagnostics } = data;
  const { label, Icon } = KINDS[node.kind];
  return (
    <div className="card" data-kind={node.kind}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <div className="card-head">
        <span className="card-icon">
          <Icon />
        </span>
        <span className="card-kind">{label}</span>
        <Endings labels={node.endings} />
        <DiagnosticBadge items={diagnostics} />
      </div>
      <div className="card-title">{title}</div>
      <p className="card-text" title={fullText}>
        {text}
      </p>
      {counts && <Counts counts={counts} entries={entries} />}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

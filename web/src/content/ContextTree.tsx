// What a template saw for the picked person (the preview's `context`), as a tree: each value
// inserts the Liquid that outputs it.
import { formatValue } from "../ui/format";
import { liquidOutput } from "./template";

type Path = (string | number)[];

const MAX_DEPTH = 5;
const MAX_ITEMS = 50;

function Node({ name, value, path, onInsert }: { name: string; value: unknown; path: Path; onInsert: (liquid: string) => void }) {
  const children: [string | number, unknown][] | undefined = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : typeof value === "object" && value !== null
      ? Object.entries(value)
      : undefined;
  const liquid = liquidOutput(path);
  return (
    <li>
      <button type="button" className="tree-key" onClick={() => onInsert(liquid)} title={`Insert ${liquid}`} aria-label={`Insert ${liquid}`}>
        {name}
      </button>
      {children === undefined ? (
        <code className="tree-value">{formatValue(value)}</code>
      ) : children.length === 0 ? (
        <code className="tree-value">{Array.isArray(value) ? "[]" : "{}"}</code>
      ) : path.length < MAX_DEPTH ? (
        <ul>
          {children.slice(0, MAX_ITEMS).map(([k, v]) => (
            <Node key={String(k)} name={typeof k === "number" ? `[${k}]` : k} value={v} path={[...path, k]} onInsert={onInsert} />
          ))}
        </ul>
      ) : (
        <code className="tree-value">…</code>
      )}
    </li>
  );
}

export function ContextTree({ context, onInsert }: { context: Record<string, unknown>; onInsert: (liquid: string) => void }) {
  const entries = Object.entries(context);
  if (entries.length === 0) return <p className="muted">The template sees nothing.</p>;
  return (
    <ul className="tree" aria-label="What the template sees">
      {entries.map(([k, v]) => (
        <Node key={k} name={k} value={v} path={[k]} onInsert={onInsert} />
      ))}
    </ul>
  );
}

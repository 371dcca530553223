// A run's trace beside its canvas: each transition with its time and what it did. With the
// structured decisions (`steps`), each decision's conditions are rows "subject — seen — op —
// expected → true/false"; before them, the transition's lines as the server wrote them.
import type { Schemas } from "../api/client";
import { ENTRY_ID } from "../journey/graph";
import { formatValue } from "../ui/format";
import { Time } from "../ui/Time";
import { stepsOf, type TraceCheck, type TraceStep } from "./trace";

function expectedText(check: TraceCheck): string {
  if (check.reference) return `${check.reference} (${formatValue(check.expected)})`;
  return check.expected === undefined ? "" : formatValue(check.expected);
}

function Checks({ checks, about }: { checks: TraceCheck[]; about: string }) {
  return (
    <table className="checks" aria-label={`Conditions checked: ${about}`}>
      <thead>
        <tr>
          <th scope="col">Subject</th>
          <th scope="col">Seen</th>
          <th scope="col">Op</th>
          <th scope="col">Expected</th>
          <th scope="col">Result</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c, i) => (
          <tr key={i} className={c.result ? "check-true" : "check-false"}>
            <td>{c.subject}</td>
            <td>
              <code>{c.op === "reachable" && c.seen === undefined ? "" : formatValue(c.seen)}</code>
            </td>
            <td>{c.op}</td>
            <td>
              <code>{expectedText(c)}</code>
            </td>
            <td className="check-result">
              → {String(c.result)}
              {c.note && <span className="muted"> ({c.note})</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const nodeLabel = (step: TraceStep) => (step.kind === "entered" ? "entry" : step.node);

function Step({ step }: { step: TraceStep }) {
  const node = nodeLabel(step);
  return (
    <li className="trace-step" data-kind={step.kind}>
      <div className="trace-step-head">
        {node && <code className="trace-node">{node}</code>}
        <span className="trace-kind">{step.kind.replace(/_/g, " ")}</span>
      </div>
      <p>{step.text}</p>
      {step.checks && step.checks.length > 0 && <Checks checks={step.checks} about={node ?? step.kind} />}
    </li>
  );
}

function Transition({ entry }: { entry: Schemas["TraceEntry"] }) {
  const steps = stepsOf(entry);
  return (
    <li className="trace-entry">
      <div className="trace-entry-head">
        <Time at={entry.at} seconds />
        <span className="muted">#{entry.seq}</span>
      </div>
      {steps ? (
        <ol className="trace-steps">
          {steps.map((s, i) => (
            <Step key={i} step={s} />
          ))}
        </ol>
      ) : (
        <ul className="trace-lines">
          {entry.lines.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ul>
      )}
    </li>
  );
}

/** The run's trace, oldest transition first, as it happened. */
export function RunTrace({ run, path }: { run: Schemas["RunView"]; path?: string[] }) {
  return (
    <section className="run-trace" aria-label="Trace" tabIndex={0}>
      <h2>Trace</h2>
      {path && path.length > 0 && (
        <p className="trace-path">
          <span className="muted">Path: </span>
          {path.map((n) => (n === ENTRY_ID ? "entry" : n)).join(" → ")}
        </p>
      )}
      {run.trace.length === 0 ? (
        <p className="muted">No transitions recorded.</p>
      ) : (
        <ol className="trace-entries">
          {run.trace.map((entry) => (
            <Transition key={entry.seq} entry={entry} />
          ))}
        </ol>
      )}
    </section>
  );
}

import type { CanvasDiagnostic } from "./diagnostics";
import type { JourneyDocument } from "./doc";
import { journeyFacts } from "./facts";

/** What holds for the whole journey (goal, exits, entry rules) and its problems outside any step. */
export function JourneyOverview({ doc, diagnostics }: { doc: JourneyDocument; diagnostics: CanvasDiagnostic[] }) {
  const facts = journeyFacts(doc);
  if (facts.length === 0 && diagnostics.length === 0) return null;
  return (
    <section className="overview" aria-label="Journey-wide settings">
      {facts.length > 0 && (
        <dl>
          {facts.map((f) => (
            <div key={f.label} className={`fact fact-${f.label.toLowerCase().replace(/[^a-z]+/g, "-")}`}>
              <dt>{f.label}</dt>
              <dd>{f.text}</dd>
            </div>
          ))}
        </dl>
      )}
      {diagnostics.length > 0 && (
        <ul className="overview-problems">
          {diagnostics.map((d, i) => (
            <li key={`${d.path}:${d.code}:${i}`} className={`problem problem-${d.severity}`}>
              <strong>{d.severity}</strong> {d.message} <code>{d.path || "/"}</code>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

import { useTitle } from "../ui/useTitle";

/** A section still to be built, saying what it will hold. */
export function Placeholder({ title, children }: { title: string; children: string }) {
  useTitle(title);
  return (
    <div className="page">
      <div className="page-head">
        <h1>{title}</h1>
      </div>
      <div className="panel">
        <p>{children}</p>
        <p className="muted">Not built yet.</p>
      </div>
    </div>
  );
}

import type { Schemas } from "../api/client";
import { IDENTITY_LABEL } from "./person";

export function Identities({ identities }: { identities: Schemas["IdentityView"][] }) {
  if (identities.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="identities">
      {identities.map((i) => (
        <li key={`${i.kind}:${i.value}`}>
          <span className="muted">{IDENTITY_LABEL[i.kind]}</span> <code>{i.value}</code>
        </li>
      ))}
    </ul>
  );
}

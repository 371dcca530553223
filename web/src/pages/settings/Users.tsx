import { useId, useState, type FormEvent } from "react";
import { apiDelete, apiGet, apiPost, apiPut, ApiError, type Schemas } from "../../api/client";
import { usePaged } from "../../api/usePaged";
import type { Role } from "../../auth/session";
import { ErrorNotice } from "../../ui/ErrorNotice";
import { ListFoot } from "../../ui/ListFoot";
import { Time } from "../../ui/Time";
import { asApiError, ConfirmDelete, PasswordField } from "./parts";
import { MIN_PASSWORD } from "./password";

type User = Schemas["UserView"];
const ROLES: Role[] = ["viewer", "editor", "admin"];

function RoleSelect({ id, value, onChange }: { id: string; value: Role; onChange: (r: Role) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

function NewUser({ onCreated }: { onCreated: (u: User) => void }) {
  const id = useId();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (password.length < MIN_PASSWORD) return setError(new ApiError("weak_password", `a password needs at least ${MIN_PASSWORD} characters`));
    setBusy(true);
    apiPost("/api/users", { email: email.trim(), name: name.trim() === "" ? null : name.trim(), role, password }, {}).then(
      // The server answers 201, which the client's answer type (200 only) does not name.
      (user: User) => {
        setBusy(false);
        onCreated(user);
      },
      (e: unknown) => {
        setBusy(false);
        setError(asApiError(e));
      },
    );
  };
  return (
    <form className="panel new-user" onSubmit={submit} aria-label="Add user">
      <h3>Add user</h3>
      <div className="field">
        <label htmlFor={`${id}-email`}>Email</label>
        <input id={`${id}-email`} type="email" required autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-name`}>Name</label>
        <input id={`${id}-name`} autoComplete="off" value={name} placeholder="the part of the email before @" onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-role`}>Role</label>
        <RoleSelect id={`${id}-role`} value={role} onChange={setRole} />
      </div>
      <PasswordField label="Password" value={password} onChange={setPassword} />
      {error && (
        <p className="item-error" role="alert">
          {error.message}
        </p>
      )}
      <div className="inline">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Adding…" : "Add user"}
        </button>
      </div>
    </form>
  );
}

function UserRow({ user, self, onChanged }: { user: User; self: boolean; onChanged: () => void }) {
  const id = useId();
  const [role, setRole] = useState<Role>(user.role);
  const [mode, setMode] = useState<"idle" | "password" | "delete">("idle");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [said, setSaid] = useState<string>();
  const run = (call: Promise<unknown>, done: string) => {
    setBusy(true);
    setError(undefined);
    setSaid(undefined);
    call.then(
      () => {
        setBusy(false);
        setMode("idle");
        setPassword("");
        setSaid(done);
        onChanged();
      },
      (e: unknown) => {
        setBusy(false);
        setError(asApiError(e).message);
      },
    );
  };
  const saveRole = () => run(apiPut("/api/users/{id}", { role }, { params: { id: user.id } }), `${user.email} is now ${role}`);
  const savePassword = (e: FormEvent) => {
    e.preventDefault();
    if (password.length < MIN_PASSWORD) return setError(`a password needs at least ${MIN_PASSWORD} characters`);
    run(apiPut("/api/users/{id}", { password }, { params: { id: user.id } }), `The password of ${user.email} is changed; they are signed out elsewhere`);
  };
  return (
    <>
      <tr>
        <td>
          {user.email}
          {self && <span className="muted"> (you)</span>}
        </td>
        <td>{user.name}</td>
        <td>
          <span className="inline">
            <label className="visually-hidden" htmlFor={`${id}-role`}>
              Role of {user.email}
            </label>
            <RoleSelect id={`${id}-role`} value={role} onChange={setRole} />
            {role !== user.role && (
              <button type="button" className="button button-small button-primary" onClick={saveRole} disabled={busy} aria-label={`Save the role of ${user.email}`}>
                Save
              </button>
            )}
          </span>
        </td>
        <td>
          <Time at={user.created_at} />
        </td>
        <td>
          <span className="inline">
            <button type="button" className="button button-small" aria-label={`Reset password of ${user.email}`} onClick={() => setMode(mode === "password" ? "idle" : "password")}>
              Reset password
            </button>
            <button type="button" className="button button-small" aria-label={`Delete ${user.email}`} onClick={() => setMode("delete")}>
              Delete
            </button>
          </span>
        </td>
      </tr>
      {(mode !== "idle" || error || said) && (
        <tr className="row-detail">
          <td colSpan={5}>
            {mode === "password" && (
              <form className="inline" onSubmit={savePassword} aria-label={`New password of ${user.email}`}>
                <PasswordField label={`New password of ${user.email}`} value={password} onChange={setPassword} />
                <button type="submit" className="button button-primary" disabled={busy}>
                  Set password
                </button>
                <button type="button" className="button" onClick={() => setMode("idle")}>
                  Cancel
                </button>
              </form>
            )}
            {mode === "delete" && (
              <ConfirmDelete
                question={`Delete ${user.email}? They can no longer sign in, and their API tokens stop working.`}
                action={`Yes, delete ${user.email}`}
                busy={busy}
                onConfirm={() => run(apiDelete("/api/users/{id}", { params: { id: user.id } }), `${user.email} is deleted`)}
                onCancel={() => setMode("idle")}
              />
            )}
            {error && (
              <p className="item-error" role="alert">
                {error}
              </p>
            )}
            {said && !error && (
              <p className="muted" role="status">
                {said}
              </p>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** Users a page. */
export const USERS_PAGE = 100;

/** Every user with their role, for admins: add one, change a role, reset a password, delete. */
export function Users({ me }: { me: number | undefined }) {
  const list = usePaged("users", async (cursor, signal) => {
    const page = await apiGet("/api/users", { query: { limit: USERS_PAGE, cursor }, signal });
    return { items: page.users, next: page.next_cursor ?? null };
  });
  const reload = list.reload;
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<string>();
  return (
    <>
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading the users…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="The users could not be listed" error={list.error} onRetry={reload} />}
      {list.state === "ready" && (
        <>
          <table className="table" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((u) => (
                <UserRow key={u.id} user={u} self={u.id === me} onChanged={reload} />
              ))}
            </tbody>
          </table>
          <ListFoot list={list} one="user" many="users" />
        </>
      )}
      {added && (
        <p className="muted" role="status">
          {added} can sign in now.
        </p>
      )}
      {adding ? (
        <>
          <NewUser
            onCreated={(u) => {
              setAdding(false);
              setAdded(u.email);
              reload();
            }}
          />
          <div>
            <button type="button" className="button" onClick={() => setAdding(false)}>
              Cancel adding
            </button>
          </div>
        </>
      ) : (
        <div>
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              setAdded(undefined);
              setAdding(true);
            }}
          >
            Add user
          </button>
        </div>
      )}
    </>
  );
}

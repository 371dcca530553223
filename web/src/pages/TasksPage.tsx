// The inbox: tasks journeys' task steps ask people to do (call someone, check an account), oldest
// first, a page at a time; open ones by default, the signed-in user's alone or a team's. Completing
// or declining one (with a note) is an event on the person it is about, which their run may wait for.
import { useEffect, useId, useState } from "react";
import { apiGet, type ApiError, type Schemas } from "../api/client";
import { useApi } from "../api/useApi";
import { usePaged } from "../api/usePaged";
import { useSession } from "../auth/context";
import { TaskItem, type Task } from "../tasks/TaskItem";
import "../tasks/tasks.css";
import { ErrorNotice } from "../ui/ErrorNotice";
import { ListFoot } from "../ui/ListFoot";
import { useDebounced } from "../ui/useDebounced";
import { useTitle } from "../ui/useTitle";

/** Tasks a page. */
export const TASKS_PAGE = 50;

type Status = Schemas["Status"] | "all";

const STATUSES: { value: Status; label: string }[] = [
  { value: "open", label: "Open" },
  { value: "completed", label: "Completed" },
  { value: "declined", label: "Declined" },
  { value: "all", label: "All" },
];

interface Filters {
  status: Status;
  mine: boolean;
  team: string;
}

/** The filters are kept in the address (`/tasks?status=completed&mine=1&team=sales`), so going back finds them again. */
function initialFilters(): Filters {
  const q = new URLSearchParams(window.location.search);
  const status = STATUSES.find((s) => s.value === q.get("status"))?.value ?? "open";
  return { status, mine: q.get("mine") === "1", team: q.get("team") ?? "" };
}

function filtersQuery({ status, mine, team }: Filters): string {
  const q = new URLSearchParams();
  if (status !== "open") q.set("status", status);
  if (mine) q.set("mine", "1");
  if (team !== "") q.set("team", team);
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

/** The JSON of a task step, for the empty state. */
const EXAMPLE = `{"id": "call", "type": "task", "title": "Call {{ traits.name }}",
 "body": "They looked at pricing 3 times this week.", "team": "sales", "due": "1d", "next": "called"}`;

function Empty({ filters, me }: { filters: Filters; me?: string }) {
  const status = STATUSES.find((s) => s.value === filters.status)?.label.toLowerCase() ?? "";
  const whose = [filters.mine && me ? `of yours (${me})` : "", filters.team ? `of team ${filters.team}` : ""].filter(Boolean).join(" and ");
  return (
    <div className="panel tasks-empty">
      <p>
        <strong>
          No {filters.status === "all" ? "" : `${status} `}task{whose ? ` ${whose}` : ""}.
        </strong>
      </p>
      <p>
        Tasks come from journeys: a <strong>Task</strong> step (in the journey editor's palette) asks a teammate to act about the person in the run (call
        them, check their account) and puts a task here, for a user (its assignee), a team, or anyone. For example:
      </p>
      <pre tabIndex={0}>{EXAMPLE}</pre>
      <p className="muted">
        Completing or declining a task here is a <code>Task Completed</code> or <code>Task Declined</code> event on the person (with the note), which a Wait for
        step after the task step can wait for.
      </p>
    </div>
  );
}

export function TasksPage() {
  useTitle("Tasks");
  const session = useSession();
  const me = session?.user?.email ?? undefined;
  const statusId = useId();
  const teamId = useId();
  const mineId = useId();
  const [filters, setFilters] = useState(initialFilters);
  const team = useDebounced(filters.team.trim(), 300);
  const settled = { ...filters, team };
  useEffect(() => {
    window.history.replaceState(window.history.state, "", `${window.location.pathname}${filtersQuery(settled)}`);
  }, [filters.status, filters.mine, team]);
  // The list again after a task was closed elsewhere (a conflict).
  const [generation, setGeneration] = useState(0);
  const mine = filters.mine && me !== undefined;
  const list = usePaged(`tasks:${filters.status}:${mine ? me : ""}:${team}:${generation}`, async (cursor, signal) => {
    const query = {
      limit: TASKS_PAGE,
      cursor,
      ...(filters.status === "all" ? {} : { status: filters.status }),
      ...(mine ? { assignee: me } : {}),
      ...(team !== "" ? { team } : {}),
    };
    const page = await apiGet("/api/tasks", { query, signal });
    return { items: page.tasks, next: page.next_cursor ?? null };
  });
  // The server's time (a manual clock in tests) tells what is overdue.
  const [clock] = useApi(`clock:${generation}`, (signal) => apiGet("/api/clock", { signal }));
  const now = clock.state === "ready" ? Date.parse(clock.data.now) : clock.state === "failed" ? Date.now() : undefined;
  // Tasks closed on this page, as the server answered: shown closed until the list is loaded again.
  const [closed, setClosed] = useState<Record<number, Task>>({});
  const [said, setSaid] = useState<{ kind: "ok" | "error"; text: string }>();
  const onClosed = (t: Task) => {
    setClosed((c) => ({ ...c, [t.id]: t }));
    setSaid({ kind: "ok", text: `${t.status === "completed" ? "Completed" : "Declined"}: ${t.title}` });
  };
  const onConflict = (e: ApiError) => {
    setSaid({ kind: "error", text: `${e.message}: the list is loaded again.` });
    setClosed({});
    setGeneration((g) => g + 1);
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Tasks</h1>
      </div>
      <p className="muted">
        What journeys ask people to do about a person, oldest first. Completing or declining one is an event on that person (<code>Task Completed</code>,{" "}
        <code>Task Declined</code>) that their run may be waiting for.
      </p>
      <form className="task-filters" role="search" aria-label="Which tasks" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={statusId}>Show</label>
          <select id={statusId} value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value as Status })}>
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="check">
          <input id={mineId} type="checkbox" checked={mine} disabled={me === undefined} onChange={(e) => setFilters({ ...filters, mine: e.target.checked })} />
          <label htmlFor={mineId}>{me ? `Mine only (${me})` : "Mine only: signed in with a token, not as a user"}</label>
        </div>
        <div className="field">
          <label htmlFor={teamId}>Team</label>
          <input id={teamId} type="search" value={filters.team} autoComplete="off" spellCheck={false} placeholder="any team" onChange={(e) => setFilters({ ...filters, team: e.target.value })} />
        </div>
      </form>
      {said && (
        <p className={said.kind === "error" ? "notice notice-error" : "notice"} role={said.kind === "error" ? "alert" : "status"}>
          {said.text}
        </p>
      )}
      {list.state === "loading" && (
        <p className="muted" role="status">
          Loading the tasks…
        </p>
      )}
      {list.state === "failed" && list.error && <ErrorNotice what="The tasks could not be listed" error={list.error} onRetry={list.reload} />}
      {list.state === "ready" &&
        (list.items.length === 0 ? (
          <Empty filters={settled} me={me} />
        ) : (
          <>
            <ol className="task-list" aria-label="Tasks">
              {list.items.map((t) => (
                <li key={t.id}>
                  <TaskItem task={closed[t.id] ?? t} now={now} onClosed={onClosed} onConflict={onConflict} />
                </li>
              ))}
            </ol>
            <ListFoot list={list} one="task" many="tasks" />
          </>
        ))}
    </div>
  );
}

// A task from the inbox: what to do and about whom, which journey's step asked for it, whose it
// is, when it is due (overdue marked), and, while it is open, Complete and Decline with an
// optional note. Anyone signed in may close one, viewers included (a salesperson may be one).
import { useId, useState } from "react";
import { apiPost, ApiError, type Schemas } from "../api/client";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { Time } from "../ui/Time";
import { personName } from "../people/person";
import "./tasks.css";

export type Task = Schemas["TaskView"];

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError("internal", e instanceof Error ? e.message : String(e)));

/** Whose a task is: "sam@acme.test", "team sales", both, or anyone's. */
export function whose(task: Pick<Task, "assignee" | "team">): string {
  if (task.assignee && task.team) return `${task.assignee} (team ${task.team})`;
  if (task.assignee) return task.assignee;
  if (task.team) return `team ${task.team}`;
  return "anyone";
}

/** Whether an open task is past its due time, at `now` (the server's time: a manual clock in tests). */
export function isOverdue(task: Pick<Task, "status" | "due_at">, now: number | undefined): boolean {
  if (task.status !== "open" || !task.due_at || now === undefined) return false;
  const due = Date.parse(task.due_at);
  return !Number.isNaN(due) && due < now;
}

/** Who closed a task, as the audit log names them ("user:ann@acme.test"): the email alone for a user. */
export const closedBy = (by: string) => by.replace(/^user:/, "");

const STATUS_WORD: Record<Task["status"], string> = { open: "open", completed: "completed", declined: "declined" };

/**
 * One task. `about` links to the person it is about (not on their own page); `now` tells what is
 * overdue; `onClosed` gets the task as the server answered once it is completed or declined;
 * `onConflict` the server's refusal when it was closed already (someone else was quicker).
 */
export function TaskItem({
  task,
  now,
  about = true,
  level = 2,
  onClosed,
  onConflict,
}: {
  task: Task;
  now: number | undefined;
  about?: boolean;
  level?: 2 | 3;
  onClosed: (task: Task) => void;
  onConflict: (error: ApiError) => void;
}) {
  const noteId = useId();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<"complete" | "decline">();
  const [error, setError] = useState<ApiError>();
  const overdue = isOverdue(task, now);
  const Heading = level === 2 ? "h2" : "h3";
  const close = (how: "complete" | "decline") => {
    setBusy(how);
    setError(undefined);
    const body = note.trim() === "" ? {} : { note: note.trim() };
    const path = how === "complete" ? "/api/tasks/{id}/complete" : "/api/tasks/{id}/decline";
    apiPost(path, body, { params: { id: task.id } }).then(
      (closed) => {
        setBusy(undefined);
        onClosed(closed);
      },
      (e: unknown) => {
        setBusy(undefined);
        const err = asApiError(e);
        if (err.code === "conflict") onConflict(err);
        else setError(err);
      },
    );
  };
  return (
    <article className="task" data-status={task.status} data-overdue={overdue || undefined} aria-labelledby={`${noteId}-title`}>
      <div className="task-head">
        <Heading id={`${noteId}-title`} className="task-title">
          {task.title}
        </Heading>
        <span className={`status status-task-${task.status}`}>{STATUS_WORD[task.status]}</span>
        {overdue && <span className="status status-task-overdue">overdue</span>}
      </div>
      {task.body && <p className="task-body">{task.body}</p>}
      <dl className="task-facts">
        {about && (
          <div>
            <dt>About</dt>
            <dd>
              <Link to={`/people/${task.profile_id}`}>{personName(task.person)}</Link>
            </dd>
          </div>
        )}
        <div>
          <dt>For</dt>
          <dd>{whose(task)}</dd>
        </div>
        <div>
          <dt>Due</dt>
          <dd className={overdue ? "task-overdue" : undefined}>{task.due_at ? <Time at={task.due_at} /> : "no due date"}</dd>
        </div>
        <div>
          <dt>Asked by</dt>
          <dd>
            <Link to={`/journeys/${encodeURIComponent(task.journey)}`}>{task.journey}</Link>, step <code>{task.node}</code>, <Time at={task.created_at} />
          </dd>
        </div>
        {task.status !== "open" && (
          <div>
            <dt>{task.status === "completed" ? "Completed" : "Declined"}</dt>
            <dd>
              {task.closed_at ? <Time at={task.closed_at} /> : "—"}
              {task.closed_by && <> by {closedBy(task.closed_by)}</>}
            </dd>
          </div>
        )}
        {task.note && (
          <div>
            <dt>Note</dt>
            <dd className="task-note">{task.note}</dd>
          </div>
        )}
      </dl>
      {task.status === "open" && (
        <div className="task-actions">
          <div className="field">
            <label htmlFor={noteId}>Note (optional)</label>
            <input id={noteId} value={note} autoComplete="off" placeholder="Called, booked a demo" onChange={(e) => setNote(e.target.value)} />
          </div>
          <button type="button" className="button button-primary" onClick={() => close("complete")} disabled={busy !== undefined}>
            {busy === "complete" ? "Completing…" : "Complete"}
          </button>
          <button type="button" className="button" onClick={() => close("decline")} disabled={busy !== undefined}>
            {busy === "decline" ? "Declining…" : "Decline"}
          </button>
        </div>
      )}
      {error && <ErrorNotice what={`Task ${task.id} could not be closed`} error={error} onRetry={() => setError(undefined)} />}
    </article>
  );
}

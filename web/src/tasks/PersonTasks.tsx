// A person's tasks, on their page above the timeline: what journeys asked teammates to do about
// them, open ones with Complete and Decline. Nothing is shown for a person with no task.
import { useState } from "react";
import { apiGet, type ApiError } from "../api/client";
import { useApi } from "../api/useApi";
import { Link } from "../router";
import { ErrorNotice } from "../ui/ErrorNotice";
import { TaskItem, type Task } from "./TaskItem";
import "./tasks.css";

/** How many of a person's tasks are shown (oldest first); the Tasks page has them all. */
const PERSON_TASKS = 50;

export function PersonTasks({ profileId }: { profileId: number }) {
  const [generation, setGeneration] = useState(0);
  const [tasks, reload] = useApi(`person-tasks:${profileId}:${generation}`, (signal) =>
    apiGet("/api/tasks", { query: { profile_id: profileId, limit: PERSON_TASKS }, signal }),
  );
  const [clock] = useApi(`clock:${generation}`, (signal) => apiGet("/api/clock", { signal }));
  const now = clock.state === "ready" ? Date.parse(clock.data.now) : clock.state === "failed" ? Date.now() : undefined;
  const [closed, setClosed] = useState<Record<number, Task>>({});
  const [conflict, setConflict] = useState<ApiError>();
  if (tasks.state === "loading") return null;
  if (tasks.state === "failed") return <ErrorNotice what="The person's tasks could not be listed" error={tasks.error} onRetry={reload} />;
  if (tasks.data.tasks.length === 0) return null;
  const open = tasks.data.tasks.filter((t) => (closed[t.id] ?? t).status === "open").length;
  return (
    <section className="panel" aria-labelledby="person-tasks-title">
      <div className="item-head">
        <h2 id="person-tasks-title">Tasks</h2>
        <span className="muted">
          {open} open of {tasks.data.tasks.length}
          {tasks.data.next_cursor ? " (the first ones)" : ""} · <Link to="/tasks">all tasks</Link>
        </span>
      </div>
      {conflict && (
        <p className="item-error" role="alert">
          {conflict.message}: the list is loaded again.
        </p>
      )}
      <ol className="task-list" aria-label="The person's tasks">
        {tasks.data.tasks.map((t) => (
          <li key={t.id}>
            <TaskItem
              task={closed[t.id] ?? t}
              now={now}
              about={false}
              level={3}
              onClosed={(c) => {
                setClosed((all) => ({ ...all, [c.id]: c }));
                setConflict(undefined);
              }}
              onConflict={(e) => {
                setConflict(e);
                setClosed({});
                setGeneration((g) => g + 1);
              }}
            />
          </li>
        ))}
      </ol>
    </section>
  );
}

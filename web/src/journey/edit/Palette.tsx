// The palette: every entry type and every step type. Click one to add it after the selected
// step (or at the end), or drag it onto a card, onto an edge's "+", or anywhere on the canvas.
import type { StepType } from "../doc";
import { DRAG_TYPE } from "../JourneyCanvas";
import { KINDS } from "../kinds";
import { ENTRY_KINDS, type EntryKind } from "../ops";
import { STEP_CHOICES } from "./fields";

const ENTRY_NAMES: Record<EntryKind, string> = {
  event: "Event",
  trait_change: "Trait change",
  api: "API",
  schedule: "Schedule",
  date: "Date",
  segment: "Segment",
};

/** The MIME type of an entry kind dragged from the palette. */
export const ENTRY_DRAG_TYPE = "application/x-wayfarer-entry";

export function Palette({ onStep, onEntry, disabled }: { onStep: (t: StepType) => void; onEntry: (k: EntryKind) => void; disabled?: boolean }) {
  const EntryIcon = KINDS.entry.Icon;
  return (
    <nav className="palette" aria-label="Palette">
      <h3>Entry</h3>
      <ul>
        {ENTRY_KINDS.map((k) => (
          <li key={k}>
            <button
              type="button"
              className="palette-item"
              data-kind="entry"
              disabled={disabled}
              draggable={!disabled}
              title={`Runs start on: ${ENTRY_NAMES[k]}`}
              onDragStart={(e) => {
                e.dataTransfer.setData(ENTRY_DRAG_TYPE, k);
                e.dataTransfer.effectAllowed = "copy";
              }}
              onClick={() => onEntry(k)}
            >
              <EntryIcon />
              <span>{ENTRY_NAMES[k]}</span>
            </button>
          </li>
        ))}
      </ul>
      <h3>Steps</h3>
      <ul>
        {STEP_CHOICES.map(({ type, label, hint }) => {
          const { Icon } = KINDS[type];
          return (
            <li key={type}>
              <button
                type="button"
                className="palette-item"
                data-kind={type}
                disabled={disabled}
                draggable={!disabled}
                title={`${label}: ${hint}. Click to add after the selected step, or drag onto the canvas.`}
                aria-label={`Add ${label}`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(DRAG_TYPE, type);
                  e.dataTransfer.effectAllowed = "copy";
                }}
                onClick={() => onStep(type)}
              >
                <Icon />
                <span>{label}</span>
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

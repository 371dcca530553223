// What each kind of node is called and drawn with; its colour is the CSS variable --kind-<kind>.
import type { ComponentType } from "react";
import { BranchIcon, EntryIcon, ExitIcon, SendIcon, SplitIcon, TaskIcon, UpdateIcon, WaitForIcon, WaitIcon, WebhookIcon } from "../ui/icons";
import type { NodeKind } from "./graph";

export const KINDS: Record<NodeKind, { label: string; Icon: ComponentType }> = {
  entry: { label: "Entry", Icon: EntryIcon },
  wait: { label: "Wait", Icon: WaitIcon },
  wait_for: { label: "Wait for", Icon: WaitForIcon },
  branch: { label: "Branch", Icon: BranchIcon },
  split: { label: "Split", Icon: SplitIcon },
  send: { label: "Send", Icon: SendIcon },
  update: { label: "Update", Icon: UpdateIcon },
  webhook: { label: "Webhook", Icon: WebhookIcon },
  task: { label: "Task", Icon: TaskIcon },
  exit: { label: "Exit", Icon: ExitIcon },
};

// Icons as inline SVG (the page loads nothing from elsewhere): 24×24 strokes in currentColor.
import type { ReactNode } from "react";

function Svg({ children }: { children: ReactNode }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

export const EntryIcon = () => (
  <Svg>
    <path d="M13 3 5 13.5h6L10 21l8-10.5h-6z" />
  </Svg>
);

export const WaitIcon = () => (
  <Svg>
    <circle cx="12" cy="12" r="8.5" />
    <path d="M12 7.5V12l3 2" />
  </Svg>
);

export const WaitForIcon = () => (
  <Svg>
    <path d="M6.5 3.5h11M6.5 20.5h11M8 3.5c0 4.5 8 4.5 8 8.5s-8 4-8 8.5M16 3.5c0 4.5-8 4.5-8 8.5s8 4 8 8.5" />
  </Svg>
);

export const BranchIcon = () => (
  <Svg>
    <path d="M12 3 20 12l-8 9-8-9z" />
  </Svg>
);

export const SplitIcon = () => (
  <Svg>
    <path d="M12 3v6M12 9l-6 7v5M12 9l6 7v5" />
  </Svg>
);

export const SendIcon = () => (
  <Svg>
    <rect x="3" y="5.5" width="18" height="13" rx="2" />
    <path d="m3.5 7 8.5 6 8.5-6" />
  </Svg>
);

export const UpdateIcon = () => (
  <Svg>
    <path d="M4 20h4L19 9l-4-4L4 16z" />
    <path d="m13 7 4 4" />
  </Svg>
);

export const WebhookIcon = () => (
  <Svg>
    <circle cx="6" cy="17" r="2.5" />
    <circle cx="18" cy="17" r="2.5" />
    <circle cx="12" cy="6" r="2.5" />
    <path d="M8.5 17h7M10.8 8.2 7.2 14.8M13.2 8.2l3.6 6.6" />
  </Svg>
);

/** A task for a person: a checked box on a clipboard. */
export const TaskIcon = () => (
  <Svg>
    <path d="M9 4H6.5A1.5 1.5 0 0 0 5 5.5v14A1.5 1.5 0 0 0 6.5 21h11a1.5 1.5 0 0 0 1.5-1.5v-14A1.5 1.5 0 0 0 17.5 4H15" />
    <rect x="9" y="2.5" width="6" height="3" rx="1" />
    <path d="m8.5 13 2.5 2.5 4.5-5" />
  </Svg>
);

/** The tasks inbox: a tray with a check. */
export const TasksIcon = () => (
  <Svg>
    <path d="M3 13.5 5.5 5h13l2.5 8.5V19a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z" />
    <path d="M3 13.5h5l1.5 2.5h5l1.5-2.5h5" />
    <path d="m9.5 9.5 2 2 3.5-3.5" />
  </Svg>
);

export const ExitIcon = () => (
  <Svg>
    <rect x="5" y="5" width="14" height="14" rx="2" />
  </Svg>
);

export const JourneysIcon = () => (
  <Svg>
    <circle cx="6" cy="5" r="2" />
    <circle cx="18" cy="19" r="2" />
    <path d="M6 7v3a3 3 0 0 0 3 3h6a3 3 0 0 1 3 3v1" />
  </Svg>
);

export const PeopleIcon = () => (
  <Svg>
    <circle cx="9" cy="8" r="3.5" />
    <path d="M2.5 20c.8-3.5 3.3-5.5 6.5-5.5s5.7 2 6.5 5.5" />
    <path d="M16 4.8a3.5 3.5 0 0 1 0 6.4M18.5 14.8c1.6.8 2.6 2.5 3 5.2" />
  </Svg>
);

export const SegmentsIcon = () => (
  <Svg>
    <circle cx="9" cy="12" r="6" />
    <circle cx="15" cy="12" r="6" />
  </Svg>
);

export const ContentIcon = () => (
  <Svg>
    <path d="M6 3h8l4 4v14H6z" />
    <path d="M14 3v4h4M9 12h6M9 16h6" />
  </Svg>
);

export const DeliveryIcon = () => (
  <Svg>
    <path d="M3 11.5 21 4l-7.5 18-2.5-8z" />
    <path d="m11 14 10-10" />
  </Svg>
);

export const SettingsIcon = () => (
  <Svg>
    <path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0" />
    <circle cx="16" cy="6" r="2" />
    <circle cx="10" cy="12" r="2" />
    <circle cx="18" cy="18" r="2" />
  </Svg>
);

export const AlertIcon = () => (
  <Svg>
    <path d="M12 3.5 21.5 20h-19z" />
    <path d="M12 10v4.5M12 17.2v.1" />
  </Svg>
);

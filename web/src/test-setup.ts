// Component tests wait for what a page shows after its lazy chunks and API answers arrive; on a
// busy 2-core CI machine that can take longer than testing-library's default second.
import { configure } from "@testing-library/react";

configure({ asyncUtilTimeout: 10_000 });

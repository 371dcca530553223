import { describe, expect, test } from "vitest";
import { ApiError } from "../api/client";
import { flows, lifecycle } from "../test/fixtures";
import { computedProblems, keptText, TRAIT_NAME } from "./computed";
import { bodyOf, draftsOf, EXAMPLE_STAGES, flowsSummary, localProblems, moveText, sameStages, sankey, SANKEY, stagesShape, stageText, type StageDraft } from "./lifecycle";

const NAMES = { lead: "Lead", customer: "Customer", "at-risk": "At risk" };

describe("lifecycle stages as the page edits them", () => {
  test("drafts of the saved stages, sent back as the documentation writes them (a name only when it is not the id)", () => {
    const saved = [...lifecycle().stages, { id: "vip", name: "vip", condition: { segment: "vip" } as never, people: 0 }];
    const drafts = draftsOf(saved);
    expect(drafts.map((d) => [d.id, d.name])).toEqual([
      ["lead", "Lead"],
      ["customer", "Customer"],
      ["at-risk", "At risk"],
      ["vip", ""],
    ]);
    expect(new Set(drafts.map((d) => d.key)).size).toBe(4);
    expect(bodyOf(drafts).stages[0]).toEqual({ id: "lead", name: "Lead", condition: { trait: "email", op: "exists" } });
    expect(bodyOf(drafts).stages[3]).toEqual({ id: "vip", condition: { segment: "vip" } });
    expect(JSON.stringify(bodyOf(drafts).stages[1])).toBe('{"id":"customer","name":"Customer","condition":{"history":{"event":"Order Completed","within":"365d"},"op":"gte","value":1}}');
    expect(sameStages(drafts, saved)).toBe(true);
    expect(sameStages([drafts[1], drafts[0], drafts[2], drafts[3]], saved)).toBe(false);
    expect(sameStages(drafts.map((d) => (d.id === "lead" ? { ...d, name: " Lead " } : d)), saved)).toBe(true);
    // The server answers a condition with its keys sorted: still the same stages.
    const sorted = saved.map((s) => (s.id === "lead" ? { ...s, condition: { op: "exists", trait: "email" } } : s));
    expect(sameStages(drafts, sorted)).toBe(true);
  });

  test("what is said before sending: ids as the server takes them, once each; a condition for each", () => {
    const s = (id: string, condition: unknown = { trait: "email", op: "exists" }): StageDraft => ({ key: 0, id, name: "", condition });
    expect(localProblems([s("lead"), s("customer")])).toEqual([]);
    expect(localProblems([s(""), s("Big Spenders"), s("lead"), s("lead"), { ...s("x"), condition: undefined }]).map((d) => `${d.path} ${d.message}`)).toEqual([
      "/stages/0/id Give the stage an id (what the lifecycle_stage trait holds), e.g. customer.",
      "/stages/1/id An id is 1 to 64 of a-z, 0-9, - and _, starting with a letter or a digit.",
      "/stages/3/id Stage lead is listed twice.",
      "/stages/4/condition Add a condition: who is at this stage.",
    ]);
    expect(localProblems(Array.from({ length: 21 }, (_, i) => s(`s${i}`))).map((d) => d.path)).toEqual(["/stages"]);
    expect(EXAMPLE_STAGES.map((e) => e.id)).toEqual(["lead", "customer", "repeat", "at-risk"]);
    expect(localProblems(EXAMPLE_STAGES.map((e, key) => ({ ...e, key })))).toEqual([]);
  });

  test("the stages' shape: the same when values change; another when stages move or conditions are added", () => {
    const [a, b] = draftsOf(lifecycle().stages);
    expect(stagesShape([{ ...a, id: "x", name: "y", condition: { trait: "plan", op: "not_exists" } }, b])).toBe(stagesShape([a, b]));
    expect(stagesShape([b, a])).not.toBe(stagesShape([a, b]));
    expect(stagesShape([{ ...a, condition: { all: [a.condition] } }, b])).not.toBe(stagesShape([a, b]));
  });

  test("moves in words: stages by name, none as No stage, a removed stage by its id", () => {
    expect(stageText(null, NAMES)).toBe("No stage");
    expect(stageText("lead", NAMES)).toBe("Lead");
    expect(stageText("gone", NAMES)).toBe("gone");
    expect(moveText(null, "lead", NAMES)).toBe("No stage → Lead");
    expect(flowsSummary(flows().flows, NAMES, "in the last 30 days")).toBe(
      "Moves between lifecycle stages in the last 30 days: 44 in all. No stage → Lead: 30 people; Lead → Customer: 10 people; Customer → At risk: 3 people; At risk → Customer: 1 person.",
    );
    expect(flowsSummary([], NAMES, "in the last 7 days")).toBe("Nobody moved between stages in the last 7 days.");
  });
});

describe("the journey map's Sankey diagram", () => {
  const stages = lifecycle().stages;

  test("two columns, each in lifecycle order with No stage first; nodes as tall as their people", () => {
    const { nodes, height, width } = sankey(flows().flows, stages);
    const side = (s: "from" | "to") => nodes.filter((n) => n.side === s);
    expect(side("from").map((n) => [n.label, n.people])).toEqual([
      ["No stage", 30],
      ["Lead", 10],
      ["Customer", 3],
      ["At risk", 1],
    ]);
    expect(side("to").map((n) => [n.label, n.people])).toEqual([
      ["Lead", 30],
      ["Customer", 11],
      ["At risk", 3],
    ]);
    // Top to bottom, never overlapping, inside the picture.
    for (const column of [side("from"), side("to")]) {
      for (let i = 1; i < column.length; i++) expect(column[i].y).toBeGreaterThanOrEqual(column[i - 1].y + column[i - 1].height + SANKEY.gap - 0.001);
      expect(column.at(-1)!.y + column.at(-1)!.height).toBeLessThanOrEqual(height);
    }
    // Heights in proportion (above the least a node is drawn).
    const [none, lead] = side("from");
    expect(none.height / lead.height).toBeCloseTo(3, 5);
    expect(side("from")[0].x).toBe(SANKEY.label);
    expect(side("to")[0].x).toBe(width - SANKEY.label - SANKEY.node);
  });

  test("bands as wide as their people, forward or back, and stacked inside their nodes", () => {
    const { links, nodes } = sankey(flows().flows, stages);
    const band = (from: string | null, to: string) => links.find((l) => (l.flow.from ?? null) === from && l.flow.to === to)!;
    expect(band(null, "lead").width / band("lead", "customer").width).toBeCloseTo(3, 5);
    expect(band(null, "lead").direction).toBe("forward");
    expect(band("customer", "at-risk").direction).toBe("forward");
    expect(band("at-risk", "customer").direction).toBe("back");
    // A band of one still shows.
    expect(band("at-risk", "customer").width).toBeGreaterThanOrEqual(1);
    // Each band leaves from inside its node.
    for (const l of links) {
      const n = nodes.find((x) => x.side === "from" && x.id === (l.flow.from ?? null))!;
      expect(l.y0).toBeGreaterThanOrEqual(n.y);
      expect(l.y0).toBeLessThanOrEqual(n.y + n.height);
      expect(l.path).toMatch(/^M[\d.]+,[\d.]+ C.* L.* C.* Z$/);
    }
  });

  test("a stage no longer in the lifecycle comes after the stages; a move to none goes back", () => {
    const { nodes, links } = sankey(
      [
        { from: "gone", to: null, people: 2 },
        { from: "lead", to: "gone", people: 1 },
      ],
      stages,
    );
    expect(nodes.filter((n) => n.side === "from").map((n) => n.label)).toEqual(["Lead", "gone"]);
    expect(nodes.filter((n) => n.side === "to").map((n) => n.label)).toEqual(["No stage", "gone"]);
    expect(links.map((l) => l.direction)).toEqual(["forward", "back"]);
  });

  test("no moves: no nodes, no bands", () => {
    const { nodes, links, height } = sankey([], stages);
    expect(nodes).toEqual([]);
    expect(links).toEqual([]);
    expect(height).toBeGreaterThan(0);
  });
});

describe("computed traits", () => {
  test("names as the server takes them", () => {
    for (const ok of ["a", "orders_90d", "x9", "x".repeat(64)]) expect(TRAIT_NAME.test(ok), ok).toBe(true);
    for (const bad of ["", "9x", "_a", "A", "a-b", "a.b", "x".repeat(65)]) expect(TRAIT_NAME.test(bad), bad).toBe(false);
  });

  test("what each keeps, in words", () => {
    expect(keptText({ event: "Order Completed", within: "90d", aggregate: "sum", property: "total" })).toBe("The sum of total of Order Completed in 90 days");
    expect(keptText({ event: "Order Completed", within: "30d", aggregate: "max", property: "total" })).toBe("The largest total of Order Completed in 30 days");
    expect(keptText({ event: "Product Viewed", within: "7d", aggregate: "distinct", property: "sku" })).toBe("How many different sku of Product Viewed in 7 days");
    expect(keptText({ event: "Order Completed", within: "90d" })).toBe("The number of Order Completed in 90 days");
    expect(keptText(null)).toBe("null");
  });

  test("a refusal's problems: computed_trait_invalid's details.diagnostics", () => {
    const d = { path: "/history/property", code: "condition_invalid", severity: "error" as const, message: "x" };
    expect(computedProblems(new ApiError("computed_trait_invalid", "not valid", { diagnostics: [d] }))).toEqual([d]);
    expect(computedProblems(new ApiError("segment_invalid", "not valid", { diagnostics: [d] }))).toBeUndefined();
  });
});

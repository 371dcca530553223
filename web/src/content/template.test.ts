import { expect, test } from "vitest";
import { ApiError } from "../api/client";
import { channelsOf, errorPosition, liquidOutput, offsetOf, previewDocument, problemsByPart } from "./template";

test("the Liquid that outputs a path of the context", () => {
  expect(liquidOutput(["traits", "firstName"])).toBe("{{ traits.firstName }}");
  expect(liquidOutput(["event", "items", 0, "sku"])).toBe("{{ event.items[0].sku }}");
  expect(liquidOutput(["traits", "first name"])).toBe('{{ traits["first name"] }}');
});

test("a 422 template_invalid's problems by part; anything else is not one", () => {
  const details = { problems: [{ part: "html", message: "a" }, { part: "html", message: "b" }, { part: "subject", message: "c" }, { part: "body", message: "?" }, "junk"] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({ html: ["a", "b"], subject: ["c"] });
  expect(problemsByPart(new ApiError("template_invalid", "x"))).toBeUndefined();
  expect(problemsByPart(new ApiError("conflict", "x", details))).toBeUndefined();
});

test("an SMS text's problems are the sms part's", () => {
  const details = { problems: [{ part: "sms", message: "uses unsubscribe_url, which SMS text does not have" }] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({ sms: ["uses unsubscribe_url, which SMS text does not have"] });
});

test("the channels a template can be sent on: email with HTML or text, SMS with SMS text", () => {
  expect(channelsOf({ html: "<p>Hi</p>", text: "", sms: "" })).toEqual(["email"]);
  expect(channelsOf({ html: "", text: "Hi", sms: "Hi" })).toEqual(["email", "sms"]);
  expect(channelsOf({ html: " ", text: "\n", sms: "Hi" })).toEqual(["sms"]);
  expect(channelsOf({ html: "", text: "", sms: "" })).toEqual([]);
});

test("where a Liquid error points, and the offset of a line and column", () => {
  expect(errorPosition("template does not parse: liquid:  --> 2:37\n  |\n2 | ...")).toEqual({ line: 2, column: 37 });
  expect(errorPosition("uses foo, which templates do not have")).toBeUndefined();
  expect(offsetOf("ab\ncdef\ng", 2, 3)).toBe(5);
  expect(offsetOf("ab\ncdef", 1, 99)).toBe(2);
  expect(offsetOf("ab\ncdef", 9, 1)).toBe(7);
});

test("the preview document loads nothing from elsewhere", () => {
  const doc = previewDocument('<img src="https://tracker.example/x.gif">');
  expect(doc).toMatch(/^<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; [^"]*img-src data:/);
  expect(doc.endsWith('<img src="https://tracker.example/x.gif">')).toBe(true);
});

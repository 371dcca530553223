import { expect, test } from "vitest";
import { ApiError } from "../api/client";
import { bodyOf, channelsOf, draftOf, errorPosition, liquidOutput, offsetOf, previewDocument, previewPart, problemsByPart } from "./template";

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

test("a push notification's problems are its parts' (push.title, push.link…)", () => {
  const details = { problems: [{ part: "push.link", message: "uses unsubscribe_url, which push notifications do not have" }, { part: "push.title", message: "does not parse as Liquid" }] };
  expect(problemsByPart(new ApiError("template_invalid", "x", details))).toEqual({
    "push.link": ["uses unsubscribe_url, which push notifications do not have"],
    "push.title": ["does not parse as Liquid"],
  });
});

test("the channels a template can be sent on: email with HTML or text, SMS with SMS text, push with a title or body", () => {
  expect(channelsOf({ html: "<p>Hi</p>", text: "", sms: "", push: {} })).toEqual(["email"]);
  expect(channelsOf({ html: "", text: "Hi", sms: "Hi", push: { body: "Hi" } })).toEqual(["email", "sms", "push"]);
  expect(channelsOf({ html: " ", text: "\n", sms: "Hi", push: { title: " " } })).toEqual(["sms"]);
  expect(channelsOf({ html: "", text: "", sms: "", push: { title: "Back in stock" } })).toEqual(["push"]);
  // A link or an image is not a notification.
  expect(channelsOf({ html: "", text: "", sms: "", push: { link: "https://x.test", image: "https://x.test/a.png" } })).toEqual([]);
});

test("the push notification's parts: flat in the editor, in `push` for the API and in the preview", () => {
  const draft = draftOf({ subject: "S", html: "", text: "T", sms: "", push: { title: "Hi", link: "myapp://home" } });
  expect(draft).toEqual({ subject: "S", html: "", text: "T", sms: "", "push.title": "Hi", "push.body": "", "push.link": "myapp://home", "push.image": "" });
  expect(bodyOf(draft)).toEqual({ subject: "S", html: "", text: "T", sms: "", push: { title: "Hi", body: "", link: "myapp://home", image: "" } });
  const part = (rendered: string) => ({ rendered });
  const preview = {
    subject: part("S"),
    html: part(""),
    text: part("T"),
    sms: part(""),
    sms_segments: 0,
    push: { title: part("Hi"), body: part(""), link: { error: "bad" }, image: part("") },
    context: {},
  };
  expect(previewPart(preview, "text")).toEqual(part("T"));
  expect(previewPart(preview, "push.title")).toEqual(part("Hi"));
  expect(previewPart(preview, "push.link")).toEqual({ error: "bad" });
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

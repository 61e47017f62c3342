// The plugin's client and view logic against a real `overlay serve` on the example vault.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { OverlayClient, OverlayError, parseEvents, type AskEvent } from "../src/client";
import { blockEnd, noteName, relatedItems, statusText, wikiLink, withLink } from "../src/view-model";
import { fetchTransport, type Running, startServer } from "./server";

let server: Running;
let client: OverlayClient;

beforeAll(async () => {
  server = await startServer();
  client = new OverlayClient(server.url, server.token, fetchTransport);
}, 240_000);

afterAll(() => server?.stop());

describe("the HTTP client against overlay serve", () => {
  it("reads health and shows it in the status bar", async () => {
    const health = await client.health();
    expect(health.ok).toBe(true);
    expect(health.index.notes).toBeGreaterThan(20);
    expect(statusText(health)).toMatch(/^overlay: \d+ notes, not watching$/);
    expect(statusText(null, "connection refused")).toBe("overlay: offline (connection refused)");
  });

  it("searches in Russian and English, one row per note", async () => {
    const ru = await client.search("сколько часов сна нужно спортсмену", 5);
    expect(ru.map((n) => n.path)).toContain("Спорт/Восстановление и сон.md");
    expect(new Set(ru.map((n) => n.path)).size).toBe(ru.length);
    const en = await client.search("when does the nightly backup run", 3);
    expect(en[0].path).toBe("Hardware/Home server.md");
  });

  it("turns related notes into panel items, notes not linked yet first", async () => {
    const current = "Спорт/Велотренировки.md";
    const items = relatedItems(await client.related(current, 10), current);
    expect(items.length).toBeGreaterThan(2);
    expect(items.every((i) => i.path !== current && i.link.startsWith("[[") && i.link.endsWith("]]"))).toBe(true);
    const firstLinked = items.findIndex((i) => i.linked);
    expect(firstLinked === -1 || items.slice(firstLinked).every((i) => i.linked)).toBe(true);
    expect(items.find((i) => i.path === "Спорт/Восстановление и сон.md")?.linked).toBe(true);
  });

  it("suggests links with the sentence that would carry them", async () => {
    const suggestions = await client.suggestLinks("Спорт/Биохакинг.md", 3);
    for (const s of suggestions) {
      expect(s.sentence.length).toBeGreaterThan(5);
      expect(withLink(s.sentence, s)).toContain(wikiLink(s.path));
    }
  });

  it("streams an answer to the end, and writes a note only when asked", async () => {
    const events: AskEvent[] = [];
    const dry = await client.ask("Сколько часов сна нужно спортсмену?", false, (e) => events.push(e));
    expect(events[0].event).toBe("retrieval");
    expect(events.map((e) => e.event)).toContain("delta");
    expect(dry.note_path).toBeNull();
    expect(dry.answer).toContain("8–9 часов");
    const written = await client.ask("Сколько часов сна нужно спортсмену?", true);
    expect(written.note_path).toMatch(/^Overlay\//);
    expect(existsSync(join(server.vault, written.note_path as string))).toBe(true);
  });

  it("answers inside a note, under the line it is given, changing nothing else", async () => {
    const note = join(server.vault, "Спорт/Восстановление и сон.md");
    const before = readFileSync(note, "utf-8");
    const line = blockEnd(before.split("\n"), 0);
    const done = await client.ask("Сколько часов сна нужно спортсмену?", true, () => {}, {
      note: "Спорт/Восстановление и сон.md",
      line,
    });
    expect(done.note_path).toBe("Спорт/Восстановление и сон.md");
    const after = readFileSync(note, "utf-8");
    const open = after.indexOf("<!-- overlay-answer ");
    const close = after.indexOf("\n", after.indexOf("<!-- /overlay-answer ")) + 1;
    expect(open).toBeGreaterThan(0);
    expect(after.slice(0, open - 1) + after.slice(close + 1)).toBe(before); // the insertion and nothing else
  });

  it("says clearly what is wrong", async () => {
    const stranger = new OverlayClient(server.url, "wrong-token", fetchTransport);
    await expect(stranger.search("сон")).rejects.toMatchObject({ status: 401 });
    await expect(client.related("Нет такой заметки.md")).rejects.toBeInstanceOf(OverlayError);
    await expect(client.related("../../etc/passwd")).rejects.toMatchObject({ status: 400 });
    await expect(client.ask("   ", false)).rejects.toMatchObject({ status: 400 });
  });
});

describe("pure helpers", () => {
  it("finds the end of the block at the cursor: a paragraph, or a whole callout", () => {
    const lines = ["# Заметка", "", "> [!ask] Сколько?", "> Коротко.", "Текст", "", "Абзац", "ещё строка", ""];
    expect(blockEnd(lines, 2)).toBe(4); // the callout's last line, not the text right after it
    expect(blockEnd(lines, 6)).toBe(8);
    expect(blockEnd(lines, 0)).toBe(1);
    expect(blockEnd(lines, 99)).toBe(9);
  });

  it("names and links notes the way Obsidian does", () => {
    expect(noteName("Спорт/Восстановление и сон.md")).toBe("Восстановление и сон");
    expect(wikiLink("A/Обзор.md", ["A/Обзор.md", "B/Обзор.md"])).toBe("[[A/Обзор]]");
    expect(wikiLink("Спорт/Бег.md", ["Спорт/Бег.md"])).toBe("[[Бег]]");
    const s = { path: "Сон.md", title: "Сон", score: 1, sentence: "x", why: [] };
    expect(withLink("Нужно много спать.", s)).toBe("Нужно много спать ([[Сон]]).");
  });

  it("parses server-sent events split anywhere", async () => {
    const text = 'event: delta\ndata: "При"\n\nevent: done\ndata: {"note_path": null}\n\n';
    const chunks = [text.slice(0, 7), text.slice(7, 30), text.slice(30)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const events: AskEvent[] = [];
    for await (const e of parseEvents(stream)) events.push(e);
    expect(events).toEqual([{ event: "delta", data: "При" }, { event: "done", data: { note_path: null } }]);
  });
});

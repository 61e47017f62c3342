// What the panels show, computed from server results: no Obsidian API here, so it is tested against a real
// server without faking the app.

import type { Health, RelatedNote, Suggestion } from "./client";

export interface RelatedItem {
  path: string;
  title: string;
  link: string; // what one click inserts
  linked: boolean;
  reason: string;
}

/** `Folder/Note.md` → `Note`: the name a wiki-link uses. */
export function noteName(path: string): string {
  const base = path.split("/").pop() ?? path;
  return base.replace(/\.md$/i, "");
}

/** The shortest [[link]] that reaches `path`: the bare name unless another known note shares it. */
export function wikiLink(path: string, known: string[] = []): string {
  const name = noteName(path);
  const clash = known.some((other) => other !== path && noteName(other).toLowerCase() === name.toLowerCase());
  return `[[${clash ? path.replace(/\.md$/i, "") : name}]]`;
}

export function relatedItems(results: RelatedNote[], current: string): RelatedItem[] {
  const known = results.map((r) => r.path);
  return results
    .filter((r) => r.path !== current)
    .map((r) => ({
      path: r.path,
      title: noteName(r.path),
      link: wikiLink(r.path, known),
      linked: r.linked,
      reason: r.why.join(", "),
    }))
    .sort((a, b) => Number(a.linked) - Number(b.linked)); // not linked yet first: that is what the panel is for
}

/** The sentence with the link appended where it fits: "…sentence" → "…sentence (see [[Note]])". */
export function withLink(sentence: string, suggestion: Suggestion): string {
  const link = wikiLink(suggestion.path);
  const trimmed = sentence.replace(/\s+$/, "");
  const end = trimmed.match(/[.!?…]$/) ? trimmed.length - 1 : trimmed.length;
  return `${trimmed.slice(0, end)} (${link})${trimmed.slice(end)}`;
}

export function statusText(health: Health | null, error: string | null = null): string {
  if (error || !health) return `overlay: offline${error ? ` (${error})` : ""}`;
  if (health.index.error) return `overlay: ${health.index.error}`;
  const watcher = health.watcher?.running ? "watching" : "not watching";
  return `overlay: ${health.index.notes ?? 0} notes, ${watcher}`;
}

/** The 1-based last line of the block the cursor is in (0-based `cursor`): the lines down to the next blank line,
 * or to the end of a callout — where an inline answer goes, under the question the user is on. */
export function blockEnd(lines: string[], cursor: number): number {
  let end = Math.min(Math.max(cursor, 0), Math.max(lines.length - 1, 0));
  const quoted = (line: string) => line.trimStart().startsWith(">");
  const inCallout = quoted(lines[end] ?? "");
  while (end + 1 < lines.length && lines[end + 1].trim() !== "" && (!inCallout || quoted(lines[end + 1]))) end++;
  return end + 1;
}

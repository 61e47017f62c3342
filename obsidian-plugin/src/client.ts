// The HTTP client of `overlay serve`. No Obsidian imports here: the plugin hands in a transport built on
// Obsidian's `requestUrl` (no CORS trouble); tests hand in one built on fetch. Streaming (`ask`) uses fetch, which
// Obsidian's desktop app allows for 127.0.0.1 because the server answers CORS for app://obsidian.md.

export interface HttpRequest {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  json: unknown;
}

export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

export interface Health {
  ok: boolean;
  version: string;
  vault: string;
  index: { notes?: number; chunks?: number; error?: string };
  watcher: { running?: boolean; answered?: number; errors?: unknown[] } | null;
}

export interface Section {
  heading: string;
  score: number;
  snippet: string;
  why: string[];
}

export interface NoteHit {
  path: string;
  score: number;
  why: string[];
  sections: Section[];
}

export interface RelatedNote {
  path: string;
  score: number;
  linked: boolean;
  why: string[];
}

export interface Suggestion {
  path: string;
  title: string;
  score: number;
  sentence: string;
  why: string[];
}

export interface AskDone {
  note_path: string | null;
  answer: string;
  checks: Record<string, unknown>;
  model: string;
}

export type AskEvent = { event: string; data: unknown };

/** Where an inline answer goes: a vault path and the 1-based line it is inserted under (the asking block's last). */
export interface InlinePlace {
  note: string;
  line: number;
}

export class OverlayError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint: string | null = null,
  ) {
    super(message);
  }
}

export class OverlayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly transport: Transport,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  health(): Promise<Health> {
    return this.call<Health>("GET", "/health");
  }

  search(query: string, k = 10): Promise<NoteHit[]> {
    return this.call<NoteHit[]>("POST", "/v1/search", { query, k });
  }

  related(path: string, k = 10): Promise<RelatedNote[]> {
    return this.call<RelatedNote[]>("POST", "/v1/related", { path, k });
  }

  suggestLinks(path: string, k = 5): Promise<Suggestion[]> {
    return this.call<Suggestion[]>("POST", "/v1/suggest-links", { path, k });
  }

  /** Streams the answer; `onEvent` sees every server-sent event; resolves with the final `done` payload. */
  async ask(
    question: string,
    write: boolean,
    onEvent: (e: AskEvent) => void = () => {},
    inline: InlinePlace | null = null,
  ): Promise<AskDone> {
    const place = inline ? { placement: "inline", note: inline.note, line: inline.line } : {};
    const response = await this.fetchImpl(this.url("/v1/ask"), {
      method: "POST",
      headers: { ...this.headers(), "Content-Type": "application/json" },
      body: JSON.stringify({ question, write, ...place }),
    });
    if (!response.ok || !response.body) {
      const data = (await response.json().catch(() => ({}))) as { error?: string; hint?: string };
      throw new OverlayError(data.error ?? `HTTP ${response.status}`, response.status, data.hint ?? null);
    }
    let done: AskDone | null = null;
    for await (const event of parseEvents(response.body)) {
      onEvent(event);
      if (event.event === "done") done = event.data as AskDone;
      if (event.event === "error") {
        const data = event.data as { error: string; hint?: string };
        throw new OverlayError(data.error, 500, data.hint ?? null);
      }
    }
    if (!done) throw new OverlayError("the answer stream ended without a result", 500);
    return done;
  }

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await this.transport({
      url: this.url(path),
      method,
      headers: { ...this.headers(), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status >= 400) {
      const data = (response.json ?? {}) as { error?: string; hint?: string };
      throw new OverlayError(data.error ?? `HTTP ${response.status}`, response.status, data.hint ?? null);
    }
    return response.json as T;
  }

  private url(path: string): string {
    return this.baseUrl.replace(/\/+$/, "") + path;
  }

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }
}

/** Server-sent events from a byte stream: `event:` and `data:` lines, a blank line ends each event. */
export async function* parseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<AskEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let name = "message";
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value ?? new Uint8Array(), { stream: !done });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (data.length) yield { event: name, data: JSON.parse(data.join("\n")) };
        name = "message";
        data = [];
      } else if (line.startsWith("event:")) {
        name = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).trimStart());
      }
    }
    if (done) return;
  }
}

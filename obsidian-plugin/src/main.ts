// The Obsidian plugin: a thin face over a local `overlay serve` (or `overlay watch --serve`). It reads from the
// server and writes into the vault only through Obsidian's own editor API, on the user's click. No telemetry.

import {
  App,
  ItemView,
  MarkdownView,
  Modal,
  Notice,
  Plugin,
  PluginSettingTab,
  Setting,
  requestUrl,
  type WorkspaceLeaf,
} from "obsidian";

import { type InlinePlace, OverlayClient, type Transport } from "./client";
import { blockEnd, relatedItems, statusText, withLink } from "./view-model";

const VIEW = "overlay-related";

interface Settings {
  serverUrl: string;
  token: string;
  placement: "note" | "inline"; // inline: Ask writes the answer into the note, under the block at the cursor
}

const DEFAULTS: Settings = { serverUrl: "http://127.0.0.1:7337", token: "", placement: "note" };

const obsidianTransport: Transport = async (request) => {
  const response = await requestUrl({ ...request, throw: false });
  let json: unknown = null;
  try {
    json = response.json;
  } catch {
    json = null;
  }
  return { status: response.status, json };
};

export default class OverlayPlugin extends Plugin {
  settings: Settings = { ...DEFAULTS };
  private statusItem: HTMLElement | null = null;

  async onload(): Promise<void> {
    this.settings = { ...DEFAULTS, ...(await this.loadData()) };
    this.registerView(VIEW, (leaf) => new RelatedView(leaf, this));
    this.addRibbonIcon("network", "Overlay: related notes", () => void this.openRelated());
    this.addCommand({ id: "related", name: "Show related notes", callback: () => void this.openRelated() });
    this.addCommand({ id: "ask", name: "Ask overlay", callback: () => this.ask() });
    this.addCommand({ id: "suggest-links", name: "Suggest links for this note", callback: () => void this.suggest() });
    this.addSettingTab(new OverlaySettings(this.app, this));
    this.statusItem = this.addStatusBarItem();
    this.registerInterval(window.setInterval(() => void this.refreshStatus(), 30_000));
    void this.refreshStatus();
  }

  client(): OverlayClient {
    return new OverlayClient(this.settings.serverUrl, this.settings.token, obsidianTransport);
  }

  async refreshStatus(): Promise<void> {
    try {
      this.statusItem?.setText(statusText(await this.client().health()));
    } catch (error) {
      this.statusItem?.setText(statusText(null, (error as Error).message));
    }
  }

  async openRelated(): Promise<void> {
    const leaf = this.app.workspace.getRightLeaf(false);
    await leaf?.setViewState({ type: VIEW, active: true });
    if (leaf) this.app.workspace.revealLeaf(leaf);
  }

  ask(): void {
    const view = this.app.workspace.getActiveViewOfType(MarkdownView);
    const editor = view?.editor;
    const selection = editor?.getSelection().trim() ?? "";
    let place: InlinePlace | null = null;
    if (this.settings.placement === "inline" && view?.file && editor) {
      const line = editor.getCursor("to").line;
      place = { note: view.file.path, line: blockEnd(editor.getValue().split("\n"), line) };
    }
    new AskModal(this.app, this, selection, place).open();
  }

  async suggest(): Promise<void> {
    const view = this.app.workspace.getActiveViewOfType(MarkdownView);
    if (!view?.file) return void new Notice("Open a note first");
    try {
      const suggestions = await this.client().suggestLinks(view.file.path, 5);
      if (!suggestions.length) return void new Notice("overlay: no links to suggest for this note");
      new SuggestModal(this.app, view, suggestions).open();
    } catch (error) {
      new Notice(`overlay: ${(error as Error).message}`);
    }
  }
}

class RelatedView extends ItemView {
  constructor(
    leaf: WorkspaceLeaf,
    private readonly plugin: OverlayPlugin,
  ) {
    super(leaf);
  }

  getViewType(): string {
    return VIEW;
  }

  getDisplayText(): string {
    return "Related notes";
  }

  async onOpen(): Promise<void> {
    this.registerEvent(this.app.workspace.on("active-leaf-change", () => void this.refresh()));
    await this.refresh();
  }

  async refresh(): Promise<void> {
    const file = this.app.workspace.getActiveFile();
    const root = this.containerEl.children[1] as HTMLElement;
    root.empty();
    if (!file) return void root.createEl("p", { text: "Open a note to see what is related." });
    root.createEl("h4", { text: `Related to ${file.basename}` });
    try {
      const items = relatedItems(await this.plugin.client().related(file.path, 12), file.path);
      const list = root.createEl("ul", { cls: "overlay-related" });
      for (const item of items) {
        const row = list.createEl("li", { cls: item.linked ? "overlay-linked" : "overlay-unlinked" });
        row.createEl("a", { text: item.title, href: "#" }).onclick = () => this.app.workspace.openLinkText(item.path, "");
        row.createEl("span", { text: item.linked ? " · linked" : " · not linked yet", cls: "overlay-why" });
        const insert = row.createEl("button", { text: "Insert link" });
        insert.onclick = () => this.insert(item.link);
      }
    } catch (error) {
      root.createEl("p", { text: `overlay: ${(error as Error).message}` });
    }
  }

  private insert(link: string): void {
    const editor = this.app.workspace.getActiveViewOfType(MarkdownView)?.editor;
    if (!editor) return void new Notice("Click into the note where the link should go");
    editor.replaceSelection(link);
  }
}

class AskModal extends Modal {
  constructor(
    app: App,
    private readonly plugin: OverlayPlugin,
    private question: string,
    private readonly place: InlinePlace | null = null,
  ) {
    super(app);
  }

  onOpen(): void {
    this.titleEl.setText("Ask overlay");
    const input = this.contentEl.createEl("textarea", { cls: "overlay-question", text: this.question });
    const output = this.contentEl.createEl("pre", { cls: "overlay-answer" });
    const button = this.contentEl.createEl("button", { text: "Ask" });
    button.onclick = async () => {
      button.disabled = true;
      output.setText("");
      try {
        if (this.place) await this.app.workspace.getActiveViewOfType(MarkdownView)?.save(); // the server checks the file
        const done = await this.plugin.client().ask(
          input.value,
          true,
          (e) => {
            if (e.event === "delta") output.appendText(String(e.data));
            if (e.event === "section") output.appendText(`\n\n${String(e.data)}\n`);
          },
          this.place,
        );
        this.close();
        if (this.place) new Notice(`overlay: answered inside ${this.place.note}`);
        else if (done.note_path) await this.app.workspace.openLinkText(done.note_path, "", true);
      } catch (error) {
        output.setText(`overlay: ${(error as Error).message}`);
        button.disabled = false;
      }
    };
  }
}

class SuggestModal extends Modal {
  constructor(
    app: App,
    private readonly view: MarkdownView,
    private readonly suggestions: Awaited<ReturnType<OverlayClient["suggestLinks"]>>,
  ) {
    super(app);
  }

  onOpen(): void {
    this.titleEl.setText("Links worth adding");
    for (const suggestion of this.suggestions) {
      const row = this.contentEl.createDiv({ cls: "overlay-suggestion" });
      row.createEl("strong", { text: suggestion.title });
      row.createEl("p", { text: suggestion.sentence });
      const accept = row.createEl("button", { text: "Add link" });
      accept.onclick = () => {
        const editor = this.view.editor;
        const text = editor.getValue();
        const at = text.indexOf(suggestion.sentence);
        if (at < 0) return void new Notice("That sentence changed; link not added");
        const from = editor.offsetToPos(at);
        const to = editor.offsetToPos(at + suggestion.sentence.length);
        editor.replaceRange(withLink(suggestion.sentence, suggestion), from, to);
        row.remove();
      };
    }
  }
}

class OverlaySettings extends PluginSettingTab {
  constructor(
    app: App,
    private readonly plugin: OverlayPlugin,
  ) {
    super(app, plugin);
  }

  display(): void {
    this.containerEl.empty();
    new Setting(this.containerEl)
      .setName("Server URL")
      .setDesc("Where `overlay serve` (or `overlay watch --serve`) listens.")
      .addText((t) =>
        t.setValue(this.plugin.settings.serverUrl).onChange(async (value) => {
          this.plugin.settings.serverUrl = value.trim();
          await this.plugin.saveData(this.plugin.settings);
        }),
      );
    new Setting(this.containerEl)
      .setName("Token")
      .setDesc("From `overlay serve --print-token`.")
      .addText((t) =>
        t.setValue(this.plugin.settings.token).onChange(async (value) => {
          this.plugin.settings.token = value.trim();
          await this.plugin.saveData(this.plugin.settings);
          void this.plugin.refreshStatus();
        }),
      );
    new Setting(this.containerEl)
      .setName("Where answers go")
      .setDesc("A new note in the answers folder, or inside this note under the block at the cursor.")
      .addDropdown((d) =>
        d
          .addOptions({ note: "A new note", inline: "Inside the note, under the cursor's block" })
          .setValue(this.plugin.settings.placement)
          .onChange(async (value) => {
            this.plugin.settings.placement = value === "inline" ? "inline" : "note";
            await this.plugin.saveData(this.plugin.settings);
          }),
      );
  }
}

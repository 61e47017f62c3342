// Bundles src/main.ts into main.js as Obsidian loads plugins: CommonJS, `obsidian` and CodeMirror left external.
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "cjs",
  target: "es2021",
  platform: "browser",
  external: ["obsidian", "electron", "@codemirror/*"],
  outfile: "main.js",
  logLevel: "info",
});

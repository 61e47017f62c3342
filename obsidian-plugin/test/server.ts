// Starts a real `overlay serve` on a copy of the example vault for the tests (no mock of our API).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import type { Transport } from "../src/client";

const ROOT = resolve(__dirname, "..", "..");
export const OVERLAY = process.env.OVERLAY_BIN ?? join(ROOT, ".venv", "bin", "overlay");

export interface Running {
  url: string;
  token: string;
  vault: string;
  stop: () => void;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startServer(): Promise<Running> {
  const vault = join(mkdtempSync(join(tmpdir(), "overlay-plugin-")), "vault");
  cpSync(join(ROOT, "examples", "vault"), vault, { recursive: true, filter: (p) => !p.includes(".overlay") });
  const env = { ...process.env, HF_HUB_OFFLINE: "1", ANONYMIZED_TELEMETRY: "False" };
  execFileSync(OVERLAY, ["index", "--vault", vault], { env, stdio: "ignore" });
  const token = execFileSync(OVERLAY, ["serve", "--print-token", "--vault", vault], { env }).toString().trim();
  const port = await freePort();
  const child: ChildProcess = spawn(OVERLAY, ["serve", "--vault", vault, "--port", String(port)], {
    env,
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    token,
    vault,
    stop: () => {
      child.kill("SIGTERM");
      rmSync(vault, { recursive: true, force: true });
    },
  };
}

/** The same contract as Obsidian's requestUrl-based transport, over fetch. */
export const fetchTransport: Transport = async (request) => {
  const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
};

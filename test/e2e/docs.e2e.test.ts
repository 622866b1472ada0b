/**
 * The docs, run. Every fenced code block in docs/*.md and README.md whose info string is
 * `<lang> runnable [id]` (```sh runnable curl-upgrade) is executed from the project directory
 * against a real `wrangler dev` started with fresh secrets, with the environment the docs tell
 * readers to set: ROOMS_URL, PUSH_SECRET, JOIN_SECRET. Each must exit 0; a block with an id is
 * also checked for what it is supposed to do (the event arrives, the token admits, the answer
 * is 426). So a doc whose commands drift from the code fails here, not in a reader's terminal.
 *
 * Languages: sh/bash/shell (bash -e -o pipefail), python (python3, with examples/push.py
 * importable as `rooms_push`, as the docs tell Django users to copy it), js (Node, an ES module,
 * run from the project directory so "./public/rooms-client.js" resolves).
 */
import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verify } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, secretKey } from "../../src/protocol/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient, type Frame } from "./wsclient";

const ROOT = resolve(import.meta.dirname, "../..");
const SNIPPET_TIMEOUT_MS = 30_000;
const PUSH_SECRET = generateSecret();
const JOIN_SECRET = generateSecret().slice("whsec_".length);

// ---- finding the snippets ----

interface Snippet {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  id: string | undefined;
  code: string;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/;
const RUNNABLE = /^(\S+)\s+runnable(?:\s+([A-Za-z0-9_-]+))?\s*$/;

/** The runnable fenced blocks of one Markdown text (CommonMark fences, indented up to 3). */
function runnableSnippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, info] = open;
    let end = i + 1;
    while (end < lines.length) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[end]!);
      if (close && close[1]![0] === fence![0] && close[1]!.length >= fence!.length) break;
      end++;
    }
    const runnable = RUNNABLE.exec(info!.trim());
    if (runnable !== null) {
      const body = lines
        .slice(i + 1, end)
        .map((l) => l.replace(new RegExp(`^ {0,${indent!.length}}`), ""));
      found.push({
        file,
        line: i + 1,
        lang: runnable[1]!,
        id: runnable[2],
        code: body.join("\n") + "\n",
      });
    }
    i = end; // skip the block, runnable or not, so fences inside it are not read as openings
  }
  return found;
}

const DOC_FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];
const SNIPPETS = DOC_FILES.flatMap((f) => runnableSnippets(readFileSync(join(ROOT, f), "utf8"), f));

// ---- running them ----

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

let server: DevServer;
/** PYTHONPATH for snippets: examples/push.py as `rooms_push`, and a stand-in `django`. */
let pythonPath: string;

function snippetEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
    ROOMS_URL: server.url,
    PUSH_SECRET,
    JOIN_SECRET,
    PYTHONPATH: pythonPath,
    NO_COLOR: "1",
    CI: "1",
    WRANGLER_SEND_METRICS: "false",
  };
  for (const k of Object.keys(env)) if (k.startsWith("CLOUDFLARE_")) delete env[k];
  return env;
}

function exec(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, env: snippetEnv(), timeout: SNIPPET_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        done({
          code,
          stdout,
          stderr: err && err.killed ? `${stderr}\n(killed: timed out)` : stderr,
        });
      },
    );
  });
}

const LANGS = new Set(["sh", "bash", "shell", "python", "js"]);

/** Runs one snippet; `pythonDriver` wraps a Python snippet that only defines things (a view). */
function runSnippet(s: Snippet, pythonDriver?: (module: string) => string): Promise<Ran> {
  switch (s.lang) {
    case "sh":
    case "bash":
    case "shell":
      return exec("bash", ["-e", "-o", "pipefail", "-c", s.code]);
    case "python": {
      const module = `snippet_${s.line}`;
      writeFileSync(join(pythonPath, `${module}.py`), s.code);
      return pythonDriver
        ? exec("python3", ["-c", pythonDriver(module)])
        : exec("python3", [join(pythonPath, `${module}.py`)]);
    }
    case "js":
      return exec(process.execPath, ["--input-type=module", "-e", s.code]);
    default:
      throw new Error(`${s.file}:${s.line}: no runner for "${s.lang}"`);
  }
}

// ---- what the snippets with an id must do ----

interface Check {
  /** Set up before the snippet runs (a listener in the room it pushes to, say). */
  before?: () => Promise<WsClient[]>;
  pythonDriver?: (module: string) => string;
  after: (ran: Ran, clients: WsClient[]) => Promise<void>;
}

const lines = (text: string) => text.trim().split("\n");
const eventNamed = (c: WsClient, event: string) =>
  c.waitFor((f: Frame) => f.type === "event" && f.event === event, `a ${event} event`);
/** A member of `room` waiting for what a snippet sends there: a guest, or `user` with a token. */
const listen = (room: string, user?: string) => async () => {
  const who =
    user === undefined
      ? "name=docs-listener"
      : `token=${await mintToken(server, { sub: user, room })}`;
  const c = await WsClient.connect(`${server.wsUrl}/room/${room}?${who}`);
  await c.expect("welcome");
  return [c];
};
const GUEST_ID = /^guest-[A-Za-z0-9_-]{10,}$/;
async function expectAdmits(token: string, room: string, self: { id: string; name: string }) {
  const claims = await verify(token, JOIN_SECRET, "HS256");
  expect(claims).toMatchObject({ sub: self.id, room });
  const c = await WsClient.connect(`${server.wsUrl}/room/${room}?token=${token}`);
  expect(await c.expect("welcome")).toMatchObject({ room, self });
  c.close();
}

const CHECKS: Record<string, Check> = {
  // docs/from-django-channels.md
  consumer: {
    after: async (ran) => {
      expect(lines(ran.stdout)).toEqual([
        "connected as Ann; 1 member(s), newest seq 0",
        "Ann: 你好 (seq 1)",
        "disconnected",
      ]);
    },
  },
  "cli-push": {
    before: listen("2"),
    after: async (ran, [c]) => {
      expect(JSON.parse(ran.stdout)).toMatchObject({ results: [{ room: "2", delivered: 1 }] });
      expect(await eventNamed(c!, "send_to_chrome")).toMatchObject({ data: { name: "234" } });
    },
  },
  "django-view": {
    before: listen("orders"),
    // What Django would do with the view: call it with a request (here: none is read).
    pythonDriver: (m) =>
      `import ${m} as views\nr = views.order_paid(None, 7)\nprint(r.status_code)\nprint(r.content.decode())`,
    after: async (ran, [c]) => {
      const [status, body] = lines(ran.stdout);
      expect(status).toBe("200");
      expect(JSON.parse(body!)).toMatchObject({
        results: [{ room: "orders", delivered: 1, duplicate: false }],
      });
      expect(await eventNamed(c!, "order.paid")).toMatchObject({ data: { order: 7 }, to: null });
    },
  },
  "python-push": {
    before: listen("orders"),
    after: async (ran, [c]) => {
      expect(JSON.parse(ran.stdout)).toMatchObject({ results: [{ room: "orders", delivered: 1 }] });
      expect(await eventNamed(c!, "order.shipped")).toMatchObject({ data: { order: 7 } });
    },
  },
  "join-token": {
    after: async (ran) => {
      await expectAdmits(lines(ran.stdout).at(-1)!, "private-team", { id: "42", name: "张三" });
    },
  },
  job: {
    before: listen("user-42", "42"),
    after: async (ran, [c]) => {
      expect(JSON.parse(ran.stdout)).toEqual({ job: expect.stringMatching(/^job_/) });
      await eventNamed(c!, "job.queued");
      expect(await eventNamed(c!, "job.done")).toMatchObject({
        to: "42",
        data: { kind: "file.inspect", result: { path: "/index.html", bytes: expect.any(Number) } },
      });
    },
  },
  // docs/protocol.md
  "guest-join": {
    after: async (ran) => {
      const [first, again] = lines(ran.stdout).map((l) => JSON.parse(l) as Frame);
      expect(first).toMatchObject({ type: "welcome", room: "lobby", self: { name: "Ann" } });
      expect(first!.self.id).toMatch(GUEST_ID);
      // The guest token is the server's, for this guest: signed with JOIN_SECRET, role guest.
      expect(await verify(first!.self.token, JOIN_SECRET, "HS256")).toMatchObject({
        sub: first!.self.id,
        role: "guest",
      });
      // Joining with it elsewhere is the same guest, handed a token again (this one: it is new).
      expect(again).toMatchObject({
        type: "welcome",
        room: "random",
        self: { id: first!.self.id, name: "Ann", token: expect.any(String) },
      });
    },
  },
  // docs/deploy.md
  "dry-run": {
    after: async (ran) => {
      for (const binding of ["env.ROOMS (Room)", "env.DESKS (Desk)", "env.JOBS (rooms-jobs)"]) {
        expect(ran.stdout).toContain(binding);
      }
      expect(ran.stdout).toContain("--dry-run: exiting now");
    },
  },
  "secret-gen": {
    after: async (ran) => {
      const [push, join] = lines(ran.stdout);
      expect(push).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(secretKey(push!).length).toBe(32);
      expect(join).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    },
  },
  "cli-token": {
    after: async (ran) => {
      expect(lines(ran.stdout)).toHaveLength(1);
      await expectAdmits(ran.stdout.trim(), "private-team", { id: "ann", name: "Ann" });
    },
  },
  "curl-upgrade": {
    after: async (ran) => {
      expect(ran.stdout).toMatch(/^HTTP\/1\.1 426 Upgrade Required/);
      expect(JSON.parse(lines(ran.stdout).at(-1)!)).toEqual({
        error: "upgrade_required",
        message: expect.any(String),
      });
    },
  },
  "curl-origin": {
    after: async (ran) => {
      expect(ran.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden/);
      expect(JSON.parse(lines(ran.stdout).at(-1)!)).toMatchObject({ error: "origin_not_allowed" });
    },
  },
};

// ---- the tests ----

beforeAll(async () => {
  pythonPath = mkdtempSync(join(tmpdir(), "docs-python-"));
  // "Copy examples/push.py into your project as rooms_push.py": the same file, not a copy of it.
  symlinkSync(join(ROOT, "examples/push.py"), join(pythonPath, "rooms_push.py"));
  // Just enough of Django for a view to be called: JsonResponse.
  mkdirSync(join(pythonPath, "django"));
  writeFileSync(join(pythonPath, "django/__init__.py"), "");
  writeFileSync(
    join(pythonPath, "django/http.py"),
    [
      "import json",
      "class JsonResponse:",
      "    def __init__(self, data, status=200, **kwargs):",
      "        self.status_code = status",
      "        self.content = json.dumps(data).encode()",
      "",
    ].join("\n"),
  );
  server = await startServer({ vars: { PUSH_SECRET, JOIN_SECRET } });
});
afterAll(async () => {
  await server?.stop();
});

describe("runnable snippets in the docs", () => {
  it("has the snippets the docs promise, each in a language this test can run", () => {
    const ids = SNIPPETS.flatMap((s) => (s.id ? [s.id] : []));
    expect(new Set(ids).size, `duplicate ids: ${ids}`).toBe(ids.length);
    // A check whose snippet disappeared from the docs would silently stop running.
    expect([...ids].sort()).toEqual(Object.keys(CHECKS).sort());
    for (const s of SNIPPETS) expect([...LANGS], `${s.file}:${s.line}`).toContain(s.lang);
  });

  for (const s of SNIPPETS) {
    const where = `${s.file}:${s.line}`;
    it(`runs ${s.id ?? "the snippet"} (${where}, ${s.lang})`, async () => {
      const check = s.id === undefined ? undefined : CHECKS[s.id];
      const clients = (await check?.before?.()) ?? [];
      try {
        const ran = await runSnippet(s, check?.pythonDriver);
        expect(
          ran.code,
          `${where} exited ${ran.code}\n${ran.stdout}\n${ran.stderr}\n${server.output()}`,
        ).toBe(0);
        await check?.after(ran, clients);
      } finally {
        for (const c of clients) c.close();
      }
    });
  }
});

describe("docs/limits-and-costs.md", () => {
  it("lists every [vars] limit of wrangler.toml with its default", () => {
    const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
    const vars = toml.slice(toml.indexOf("[vars]"));
    const defaults = new Map(
      [...vars.matchAll(/^([A-Z_]+)\s*=\s*"(.*)"$/gm)].map((m) => [
        m[1]!,
        m[2]!.replaceAll('\\"', '"'),
      ]),
    );
    const doc = readFileSync(join(ROOT, "docs/limits-and-costs.md"), "utf8");
    // Table rows: | `NAME` | `default` | ...
    const rows = new Map(
      [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*`([^`]*)`\s*\|/gm)].map((m) => [
        m[1]!,
        m[2] === '""' ? "" : m[2]!, // an empty default is written `""`
      ]),
    );
    expect(defaults.size).toBeGreaterThan(5);
    for (const [name, value] of defaults) expect(rows.get(name), name).toBe(value);
  });
});

/**
 * scripts/deploy.ts (`npm run deploy`) without Cloudflare: a stand-in `wrangler` first on PATH
 * answers `secret list` with whatever a case needs and records what it was asked, so each rule
 * is provoked exactly — deploy when every secret is set, refuse naming the missing ones, explain
 * a listing that failed. One case runs the real wrangler logged out, to pin its real message.
 * And `npm start`'s side of the same secrets: what it writes into a new or an older .dev.vars.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureDevVars, readDevVars } from "../../scripts/secrets.ts";
import { secretKey } from "../../src/protocol/webhook.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SCRIPT = join(ROOT, "scripts/deploy.ts");
const BIN = join(ROOT, "node_modules/.bin");
const run = promisify(execFile);

// Prints FAKE_SECRETS for `secret list` (plus FAKE_LIST_STDERR, exiting FAKE_LIST_EXIT) and exits
// FAKE_DEPLOY_EXIT for `deploy`; every call's arguments go to FAKE_LOG, one line each.
const FAKE_WRANGLER = `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "secret list")
    [ -n "$FAKE_LIST_STDERR" ] && printf '%s\\n' "$FAKE_LIST_STDERR" >&2
    printf '%s\\n' "$FAKE_SECRETS"
    exit "\${FAKE_LIST_EXIT:-0}" ;;
  deploy*)
    echo "fake wrangler: deployed"
    exit "\${FAKE_DEPLOY_EXIT:-0}" ;;
esac
echo "fake wrangler: unexpected command: $*" >&2
exit 99
`;

let fakeDir: string;
beforeAll(() => {
  fakeDir = mkdtempSync(join(tmpdir(), "fake-wrangler-"));
  writeFileSync(join(fakeDir, "wrangler"), FAKE_WRANGLER);
  chmodSync(join(fakeDir, "wrangler"), 0o755);
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** What the stand-in wrangler was asked, one call per entry. */
  calls: string[];
}

async function deploy(
  args: string[],
  fake: { secrets?: string; listExit?: number; listStderr?: string; deployExit?: number } = {},
): Promise<Outcome> {
  const log = join(mkdtempSync(join(tmpdir(), "deploy-log-")), "calls");
  writeFileSync(log, "");
  const env = {
    ...process.env,
    PATH: `${fakeDir}:${BIN}:${process.env.PATH}`,
    FAKE_LOG: log,
    FAKE_SECRETS: fake.secrets ?? "[]",
    FAKE_LIST_EXIT: String(fake.listExit ?? 0),
    FAKE_LIST_STDERR: fake.listStderr ?? "",
    FAKE_DEPLOY_EXIT: String(fake.deployExit ?? 0),
  };
  const result = await run(process.execPath, [SCRIPT, ...args], { cwd: ROOT, env, timeout: 20_000 })
    .then((r) => ({ code: 0, ...r }))
    .catch((e: { code: number; stdout: string; stderr: string }) => e);
  const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return { code: result.code, stdout: result.stdout, stderr: result.stderr, calls };
}

const ALL = ["PUSH_SECRET", "JOIN_SECRET", "HOOK_SECRET"];
const secrets = (...names: string[]) =>
  JSON.stringify(
    names.map((name) => ({ name, type: "secret_text" })),
    null,
    2,
  );

describe("npm run deploy", () => {
  it("deploys when PUSH_SECRET, JOIN_SECRET and HOOK_SECRET are all set", async () => {
    const out = await deploy([], {
      secrets: secrets("JOIN_SECRET", "HOOK_SECRET", "PUSH_SECRET", "OTHER"),
    });
    expect(out.code).toBe(0);
    expect(out.calls).toEqual(["secret list --format json", "deploy"]);
    expect(out.stdout).toContain("PUSH_SECRET, JOIN_SECRET and HOOK_SECRET are set");
    expect(out.stdout).toContain("fake wrangler: deployed");
  });

  it("refuses without PUSH_SECRET, naming it and how to set it", async () => {
    const out = await deploy([], { secrets: secrets("JOIN_SECRET", "HOOK_SECRET") });
    expect(out.code).toBe(1);
    expect(out.calls).toEqual(["secret list --format json"]); // never deployed
    expect(out.stderr).toContain('Not deploying: "edge-rooms" has no PUSH_SECRET.');
    expect(out.stderr).toContain("npx wrangler secret put PUSH_SECRET");
    expect(out.stderr).not.toContain("secret put JOIN_SECRET");
  });

  it("refuses without HOOK_SECRET: processors are only ever called signed", async () => {
    const out = await deploy([], { secrets: secrets("PUSH_SECRET", "JOIN_SECRET") });
    expect(out.code).toBe(1);
    expect(out.calls).toEqual(["secret list --format json"]);
    expect(out.stderr).toContain('Not deploying: "edge-rooms" has no HOOK_SECRET.');
    expect(out.stderr).toContain("job processors");
    expect(out.stderr).toContain("npx wrangler secret put HOOK_SECRET");
    expect(out.stderr).not.toContain("secret put PUSH_SECRET");
  });

  it("names every secret when none is set", async () => {
    const out = await deploy([], { secrets: "[]" });
    expect(out.code).toBe(1);
    expect(out.calls).toEqual(["secret list --format json"]);
    expect(out.stderr).toContain("has no PUSH_SECRET, no JOIN_SECRET and no HOOK_SECRET");
    for (const name of ALL) expect(out.stderr).toContain(`npx wrangler secret put ${name}`);
  });

  it("checks and deploys the same environment, passing the other flags to deploy only", async () => {
    const missing = await deploy(["--env", "production", "--minify"], {
      secrets: secrets("PUSH_SECRET", "HOOK_SECRET"),
    });
    expect(missing.calls).toEqual(["secret list --format json --env production"]);
    expect(missing.stderr).toContain('"edge-rooms" (env production) has no JOIN_SECRET');
    expect(missing.stderr).toContain("npx wrangler secret put JOIN_SECRET --env production");

    const ok = await deploy(["--env=staging", "--minify"], { secrets: secrets(...ALL) });
    expect(ok.code).toBe(0);
    expect(ok.calls).toEqual([
      "secret list --format json --env=staging",
      "deploy --env=staging --minify",
    ]);
  });

  it("says so when wrangler is not logged in, and does not deploy", async () => {
    const out = await deploy([], {
      listExit: 1,
      secrets: "",
      listStderr:
        "✘ [ERROR] In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.",
    });
    expect(out.code).toBe(1);
    expect(out.calls).toEqual(["secret list --format json"]);
    expect(out.stderr).toContain("wrangler is not logged in to Cloudflare");
    expect(out.stderr).toContain("npx wrangler login");
    expect(out.stderr).toContain("CLOUDFLARE_API_TOKEN"); // wrangler's own sentence, quoted
  });

  it("recognises the real wrangler's answer when logged out", async () => {
    // The real wrangler from node_modules, with a fresh HOME (no stored login) and no token.
    const home = mkdtempSync(join(tmpdir(), "logged-out-"));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${BIN}:${process.env.PATH}`,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      WRANGLER_SEND_METRICS: "false",
    };
    for (const k of Object.keys(env)) if (k.startsWith("CLOUDFLARE_")) delete env[k];
    const out = await run(process.execPath, [SCRIPT], { cwd: ROOT, env, timeout: 45_000 }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(out).toMatchObject({ code: 1 });
    expect(out.stderr).toContain("wrangler is not logged in to Cloudflare");
    expect(out.stderr).toContain("npx wrangler login");
  });

  it("explains a Worker that does not exist yet: secrets first", async () => {
    const out = await deploy([], {
      listExit: 1,
      secrets: "",
      listStderr: '✘ [ERROR] Worker "edge-rooms" not found.',
    });
    expect(out.code).toBe(1);
    expect(out.calls).toEqual(["secret list --format json"]);
    expect(out.stderr).toContain('the Worker "edge-rooms" does not exist on Cloudflare yet');
    for (const name of ALL) expect(out.stderr).toContain(`npx wrangler secret put ${name}`);

    const staging = await deploy(["--env", "staging"], {
      listExit: 1,
      secrets: "",
      listStderr: '✘ [ERROR] Worker "edge-rooms-staging" not found.',
    });
    expect(staging.stderr).toContain("npx wrangler secret put PUSH_SECRET --env staging");
  });

  it("reports any other listing failure with wrangler's words", async () => {
    const out = await deploy([], {
      listExit: 1,
      secrets: "",
      listStderr: "✘ [ERROR] fetch failed",
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("could not list the secrets");
    expect(out.stderr).toContain("fetch failed");
    expect(out.calls).toEqual(["secret list --format json"]);
  });

  it("passes on the exit code of a failed wrangler deploy", async () => {
    const out = await deploy([], { secrets: secrets(...ALL), deployExit: 3 });
    expect(out.code).toBe(3);
    expect(out.calls).toEqual(["secret list --format json", "deploy"]);
  });

  it("builds a dry run without checking secrets (no login needed)", async () => {
    const out = await deploy(["--dry-run"], { listExit: 1 });
    expect(out.code).toBe(0);
    expect(out.calls).toEqual(["deploy --dry-run"]);
  });

  it("says how to run it when wrangler is not on PATH", async () => {
    const empty = mkdtempSync(join(tmpdir(), "no-wrangler-"));
    const out = await run(process.execPath, [SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, PATH: empty },
      timeout: 20_000,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(out).toMatchObject({ code: 1 });
    expect(out.stderr).toContain("`wrangler` is not on PATH");
    expect(out.stderr).toContain("npm run deploy");
  });
});

describe("npm start's .dev.vars", () => {
  it("creates all three secrets in a new file, HOOK_SECRET apart from PUSH_SECRET", () => {
    const path = join(mkdtempSync(join(tmpdir(), "dev-vars-")), ".dev.vars");
    expect(ensureDevVars(path)).toEqual(ALL);
    const vars = readDevVars(path);
    expect(Object.keys(vars).sort()).toEqual([...ALL].sort());
    expect(secretKey(vars.HOOK_SECRET!).length).toBe(24);
    expect(vars.HOOK_SECRET).toMatch(/^whsec_/);
    expect(vars.HOOK_SECRET).not.toBe(vars.PUSH_SECRET);
    expect(ensureDevVars(path)).toEqual([]); // nothing more on the next start
  });

  it("adds only HOOK_SECRET to an older file, keeping what is there", () => {
    const path = join(mkdtempSync(join(tmpdir(), "dev-vars-")), ".dev.vars");
    const before = "# mine\nPUSH_SECRET=whsec_AAAA\nJOIN_SECRET=abc\nJOB_PROCESSORS={}\n";
    writeFileSync(path, before);
    expect(ensureDevVars(path)).toEqual(["HOOK_SECRET"]);
    const after = readFileSync(path, "utf8");
    expect(after.startsWith(before)).toBe(true);
    expect(readDevVars(path)).toMatchObject({ PUSH_SECRET: "whsec_AAAA", JOIN_SECRET: "abc" });
  });
});

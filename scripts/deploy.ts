/**
 * `npm run deploy`: `wrangler deploy`, but only once the deployed Worker has the secrets it
 * cannot work without. A Worker deployed without PUSH_SECRET answers every push with 503, one
 * without JOIN_SECRET admits nobody at all (it can vouch neither for a backend's user nor for a
 * guest), and one without HOOK_SECRET fails every job that needs a processor (it calls a
 * processor only signed); all look like a broken deploy from outside, so this refuses up front
 * and says which secret is missing and how to set it.
 *
 *   npm run deploy                      check the secrets, then deploy
 *   npm run deploy -- --env production  the same for an environment (passed to both commands)
 *   npm run deploy -- --dry-run         build and check the config only: no login, no check
 *
 * The secrets are read with `wrangler secret list --format json` (names only; values never leave
 * Cloudflare). `wrangler` is whatever is first on PATH — npm puts node_modules/.bin there — so a
 * test can put a stand-in first (test/e2e/deploy.e2e.test.ts). docs/deploy.md is the walkthrough.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const REQUIRED_SECRETS: Record<string, string> = {
  PUSH_SECRET: "signs POST /push and POST /jobs from your backends (a whsec_<base64> value)",
  JOIN_SECRET: "signs every join token: your backend's and the guests' (any long random string)",
  HOOK_SECRET:
    "signs the Worker's calls to your job processors (a whsec_<base64> value of its own, not PUSH_SECRET's)",
};
const LIST_TIMEOUT_MS = 60_000;
/** "A", "A and B", "A, B and C". */
const listed = (names: string[]) =>
  names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

/** The flags that say which Worker, so `secret list` looks at the one `deploy` will replace. */
const SCOPE_FLAGS = new Set(["--env", "-e", "--name", "--config", "-c"]);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when wrangler could not be started at all. */
  spawnError?: NodeJS.ErrnoException;
}

function runCaptured(args: string[]): Promise<Run> {
  return new Promise((done) => {
    // stdin ignored: wrangler then knows nobody can answer a login prompt, and says so instead.
    const child = spawn("wrangler", args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(no answer from wrangler within ${LIST_TIMEOUT_MS / 1000} s)`;
      child.kill("SIGTERM");
    }, LIST_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      done({ code: null, stdout, stderr, spawnError: err });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

function runInherited(args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn("wrangler", args, { stdio: "inherit" });
    child.on("error", (err) => {
      console.error(`Could not start wrangler: ${err.message}`);
      done(1);
    });
    child.on("close", (code) => done(code ?? 1));
  });
}

/** `--env x`, `--name=x` ...: the part of the arguments that picks the Worker. */
function scopeArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = arg.split("=")[0]!;
    if (!SCOPE_FLAGS.has(flag)) continue;
    out.push(arg);
    if (!arg.includes("=") && i + 1 < args.length) out.push(args[++i]!);
  }
  return out;
}

function workerName(args: string[]): string {
  const scope = scopeArgs(args);
  const value = (flags: string[]) => {
    for (let i = 0; i < scope.length; i++) {
      const [flag, inline] = scope[i]!.split("=");
      if (flags.includes(flag!)) return inline ?? scope[i + 1];
    }
    return undefined;
  };
  const env = value(["--env", "-e"]);
  let name = value(["--name"]);
  if (name === undefined) {
    try {
      const toml = readFileSync(resolve(value(["--config", "-c"]) ?? "wrangler.toml"), "utf8");
      name = /^name\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
    } catch {
      // No readable config: the message names no Worker, wrangler itself will say more.
    }
  }
  return `${name ? `"${name}"` : "this Worker"}${env ? ` (env ${env})` : ""}`;
}

// wrangler prints coloured boxes and a log-file line; the sentence in between is what helps.
const plain = (text: string) =>
  text
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !/Logs were written to/.test(l))
    .map((l) => `    ${l.trim()}`)
    .join("\n");

/** The secret names, from `wrangler secret list --format json`: `[{"name": ..., "type": ...}]`. */
function parseSecretNames(stdout: string): string[] | null {
  const candidates = [
    stdout.trim(),
    stdout.slice(stdout.indexOf("["), stdout.lastIndexOf("]") + 1),
  ];
  for (const text of candidates) {
    try {
      const list: unknown = JSON.parse(text);
      if (!Array.isArray(list)) continue;
      return list
        .map((s) => (typeof s === "object" && s !== null ? (s as { name?: unknown }).name : null))
        .filter((n): n is string => typeof n === "string");
    } catch {
      // not this slice; try the next
    }
  }
  return null;
}

function explainListFailure(run: Run, worker: string, scope: string[]): string {
  const said = plain(`${run.stderr}\n${run.stdout}`);
  const quote = said ? `\nwrangler said:\n${said}` : "";
  if (/CLOUDFLARE_API_TOKEN|not logged in|logged out|wrangler login|authenticat/i.test(said)) {
    return (
      `Not deploying: wrangler is not logged in to Cloudflare, so the secrets of ${worker} ` +
      "could not be checked.\n" +
      "Log in with `npx wrangler login` (in CI: set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID), " +
      `then run \`npm run deploy\` again.${quote}`
    );
  }
  if (/not found|does not exist|10007/i.test(said)) {
    // wrangler's own advice here is "deploy first", which is the deploy this script refuses.
    return (
      `Not deploying: the Worker ${worker} does not exist on Cloudflare yet, so it has no secrets.\n` +
      "Set them first; wrangler offers to create the Worker with the first one:\n" +
      Object.keys(REQUIRED_SECRETS)
        .map((name) => `    npx wrangler secret put ${[name, ...scope].join(" ")}`)
        .join("\n") +
      "\nthen run `npm run deploy` again."
    );
  }
  return (
    `Not deploying: could not list the secrets of ${worker} ` +
    `(\`wrangler secret list\` exited with ${run.code ?? "a signal"}).${quote}`
  );
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--dry-run")) return runInherited(["deploy", ...args]); // offline: no check

  const worker = workerName(args);
  const list = await runCaptured(["secret", "list", "--format", "json", ...scopeArgs(args)]);
  if (list.spawnError !== undefined) {
    console.error(
      list.spawnError.code === "ENOENT"
        ? "Not deploying: `wrangler` is not on PATH. Run this as `npm run deploy` (npm adds " +
            "node_modules/.bin to PATH), after `npm install`."
        : `Not deploying: could not start wrangler: ${list.spawnError.message}`,
    );
    return 1;
  }
  if (list.code !== 0) {
    console.error(explainListFailure(list, worker, scopeArgs(args)));
    return 1;
  }
  const names = parseSecretNames(list.stdout);
  if (names === null) {
    console.error(
      "Not deploying: `wrangler secret list --format json` printed something that is not a " +
        `list of secrets:\n${plain(list.stdout)}`,
    );
    return 1;
  }
  const missing = Object.keys(REQUIRED_SECRETS).filter((name) => !names.includes(name));
  if (missing.length > 0) {
    console.error(
      `Not deploying: ${worker} has ${listed(missing.map((name) => `no ${name}`))}.\n` +
        missing
          .map(
            (name) =>
              `  ${name} ${REQUIRED_SECRETS[name]}. Set it with:\n` +
              `    npx wrangler secret put ${[name, ...scopeArgs(args)].join(" ")}`,
          )
          .join("\n") +
        "\nIt prompts for the value (or reads it from a pipe); docs/deploy.md shows how to make one.\n" +
        "Then run `npm run deploy` again.",
    );
    return 1;
  }
  console.log(`Secrets of ${worker}: ${listed(Object.keys(REQUIRED_SECRETS))} are set.`);
  return runInherited(["deploy", ...args]);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}

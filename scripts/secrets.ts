/**
 * Local secrets for the CLI and `npm start`: read from the environment first, then from
 * .dev.vars (the file wrangler dev reads). `ensureDevVars` creates missing ones, so push, tokens
 * and signed calls to job processors work out of the box; the file is git-ignored and never
 * committed.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateSecret } from "../src/protocol/webhook.ts";

export const DEV_VARS = resolve(import.meta.dirname, "../.dev.vars");

export function readDevVars(path = DEV_VARS): Record<string, string> {
  if (!existsSync(path)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

export type SecretName = "PUSH_SECRET" | "JOIN_SECRET" | "HOOK_SECRET";

export function secret(name: SecretName): string {
  const value = process.env[name] || readDevVars()[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run \`npm start\` once (it creates .dev.vars) or export ${name}`,
    );
  }
  return value;
}

/**
 * Adds PUSH_SECRET, JOIN_SECRET and HOOK_SECRET to .dev.vars when missing; returns the names it
 * added. HOOK_SECRET is a secret of its own, never a copy of PUSH_SECRET: what the Worker signs
 * with it goes out to your backend, and must not verify if someone sends it back to /push.
 */
export function ensureDevVars(path = DEV_VARS): string[] {
  const vars = readDevVars(path);
  const fresh: Record<string, string> = {};
  if (!vars.PUSH_SECRET) fresh.PUSH_SECRET = generateSecret();
  if (!vars.JOIN_SECRET) fresh.JOIN_SECRET = generateSecret().slice("whsec_".length);
  if (!vars.HOOK_SECRET) fresh.HOOK_SECRET = generateSecret();
  const added = Object.keys(fresh);
  if (added.length === 0) return added;
  const before = existsSync(path)
    ? readFileSync(path, "utf8").replace(/\n*$/, "\n")
    : "# Local secrets for wrangler dev; git-ignored. Deployed: wrangler secret put <NAME>\n";
  writeFileSync(path, before + added.map((k) => `${k}=${fresh[k]}`).join("\n") + "\n", {
    mode: 0o600,
  });
  return added;
}

/** Where the CLI sends requests: --url, then ROOMS_URL, then the local dev server. */
export const baseUrl = (flag: string | undefined) =>
  (flag ?? process.env.ROOMS_URL ?? "http://localhost:8787").replace(/\/+$/, "");

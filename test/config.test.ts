/// <reference types="vite/client" />
/**
 * The limits in wrangler.toml [vars] must be the protocol's defaults, and the defaults
 * compiled into src/protocol/ must agree with both. The file is read through Vite's `?raw`
 * import (the test modules are transformed by Vite before workerd runs them), because workerd
 * has no file system and vitest.config.ts overrides some of these vars in the test bindings.
 */
import { describe, expect, it } from "vitest";
import wranglerToml from "../wrangler.toml?raw";
import { DEFAULT_LIMITS } from "../src/protocol";

/** The protocol's defaults: every limit is a wrangler.toml [vars] entry with this value. */
const PROTOCOL_DEFAULTS = {
  MAX_FRAME_BYTES: "65536",
  MAX_PUSH_BYTES: "1048576",
  RATE_PER_SEC: "20",
  RATE_BURST: "40",
  HISTORY_LIMIT: "1000",
  AGENT_GRACE_SEC: "30",
  MAX_SOCKETS_PER_USER: "10",
  MAX_REPLAY_BYTES: "1048576",
  DESK_IDLE_SEC: "86400",
  DESK_MAX_OPEN: "10000",
  PRESENCE_MAX: "200",
};

/**
 * The `[vars]` table of a TOML file, for the one shape wrangler.toml uses there: `KEY = "string"`
 * lines, comments and blank lines. Anything else in the table fails the test rather than being
 * silently skipped.
 */
function readVars(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let inVars = false;
  for (const rawLine of toml.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+#.*$/, "").trim();
    if (line.startsWith("[")) {
      inVars = line === "[vars]";
      continue;
    }
    if (!inVars || line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"\\]*)"$/.exec(line);
    if (m === null) throw new Error(`unexpected line in [vars]: ${rawLine}`);
    vars[m[1]!] = m[2]!;
  }
  return vars;
}

describe("configuration", () => {
  const vars = readVars(wranglerToml);

  it("declares every protocol limit in wrangler.toml [vars] with the protocol's default", () => {
    expect(vars).toMatchObject(PROTOCOL_DEFAULTS);
  });

  it("compiles in the same defaults as wrangler.toml", () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxFrameBytes: Number(vars.MAX_FRAME_BYTES),
      maxPushBytes: Number(vars.MAX_PUSH_BYTES),
      ratePerSec: Number(vars.RATE_PER_SEC),
      rateBurst: Number(vars.RATE_BURST),
      historyLimit: Number(vars.HISTORY_LIMIT),
      agentGraceSec: Number(vars.AGENT_GRACE_SEC),
      maxSocketsPerUser: Number(vars.MAX_SOCKETS_PER_USER),
      maxReplayBytes: Number(vars.MAX_REPLAY_BYTES),
      deskIdleSec: Number(vars.DESK_IDLE_SEC),
      deskMaxOpen: Number(vars.DESK_MAX_OPEN),
      presenceMax: Number(vars.PRESENCE_MAX),
    });
  });

  it("commits no secret to wrangler.toml", () => {
    expect(Object.keys(vars)).not.toContain("PUSH_SECRET");
    expect(Object.keys(vars)).not.toContain("JOIN_SECRET");
    expect(wranglerToml).not.toMatch(/whsec_/);
  });
});

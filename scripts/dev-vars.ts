// `npm start` runs this first: fresh local secrets when .dev.vars lacks them.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { DEV_VARS, ensureDevVars, readDevVars } from "./secrets.ts";

const added = ensureDevVars();
// Pusher's HTTP API signs with a plain string, as Pusher's own app secrets are (hex here). It
// stays off until PUSHER_APP_ID and PUSHER_KEY are set too (docs/from-pusher.md).
if (!readDevVars().PUSHER_SECRET) {
  const before = readFileSync(DEV_VARS, "utf8").replace(/\n*$/, "\n"); // ensureDevVars made it
  const secret = randomBytes(20).toString("hex");
  writeFileSync(DEV_VARS, `${before}PUSHER_SECRET=${secret}\n`, { mode: 0o600 });
  added.push("PUSHER_SECRET");
}
if (added.length > 0) {
  const names =
    added.length === 1 ? added[0] : `${added.slice(0, -1).join(", ")} and ${added.at(-1)}`;
  console.log(`Created ${names} in ${DEV_VARS} (git-ignored).`);
}

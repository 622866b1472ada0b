// `npm start` runs this first: fresh local secrets when .dev.vars lacks them.
import { DEV_VARS, ensureDevVars } from "./secrets.ts";

const added = ensureDevVars();
if (added.length > 0) {
  const names =
    added.length === 1 ? added[0] : `${added.slice(0, -1).join(", ")} and ${added.at(-1)}`;
  console.log(`Created ${names} in ${DEV_VARS} (git-ignored).`);
}

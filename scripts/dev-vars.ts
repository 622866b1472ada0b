// `npm start` runs this first: fresh local secrets when .dev.vars lacks them.
import { DEV_VARS, ensureDevVars } from "./secrets.ts";

const added = ensureDevVars();
if (added.length > 0) console.log(`Created ${added.join(" and ")} in ${DEV_VARS} (git-ignored).`);

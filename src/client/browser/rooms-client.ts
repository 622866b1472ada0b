/**
 * What the pages import as `/rooms-client.js`: the whole client, bundled by scripts/build.mjs
 * into public/. The pages' type-check resolves `./rooms-client.js` to this file (tsconfig
 * `rootDirs`), so they are checked against the same source the bundle is made from.
 */
export * from "../index.ts";

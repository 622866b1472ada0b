// The HTML pages, rendered from their sources in pages/ into public/ by scripts/build.mjs.
// Static HTML has no include, so what several pages share is written once:
// - pages/layout.html: the skeleton every page gets (doctype, <html lang="en">, the shared <head>
//   lines), with three markers a page fills, each alone on its line:
//   `<!-- slot: title -->`, `<!-- slot: head -->` and `<!-- slot: body -->`.
// - a page, e.g. pages/index.html or pages/jobs/index.html (served as /index.html, /jobs/): only
//   what is its own, a <head>…</head> and then its <body …>…</body>, nothing else. Its head's lines
//   up to its one </title> fill the title slot and the rest the head slot, so the shared icon
//   and /style.css stand after its title and before its own stylesheets and module script.
// - pages/partials/<name>.html: a fragment several pages hold, put in place of a line
//   `<!-- include: <name>.html -->` (in a page or the layout), indented as that line is.
// A missing partial or layout, a page of another shape, or a marker written wrong or where it does
// not belong throws an Error that names the file (and the line), so the build fails. Plain .mjs with no dependencies, like
// the build; pages/ is outside public/, so neither the sources nor the layout are ever served.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The project's page sources. */
export const PAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), "../pages");

const SLOTS = ["title", "head", "body"];
const SLOT = /^( *)<!-- slot: (\S+) -->$/;
const INCLUDE = /^( *)<!-- include: ([\w.-]+\.html) -->$/;
/** What a marker looks like, written well or not: a comment that starts with its word. */
const MARKER = /<!-- *(slot|include)\b/;
const MARKERS =
  "<!-- include: <name>.html --> alone on its line; <!-- slot: … --> only in the layout";
/** A page: its <head> (each line its own), then its <body> element, as prettier lays them out. */
const PAGE = /^<head>\n?([^]*?)\n?<\/head>\n+(<body\b[^]*<\/body>)\n*$/;

/** @type {(where: string, what: string) => never} */
const fail = (where, what) => {
  throw new Error(`${where}: ${what}`);
};

/**
 * Lines moved to `indent`: their common indentation taken off first; blank lines stay empty.
 * @param {string[]} lines
 * @param {string} indent
 */
function place(lines, indent) {
  const margin = Math.min(...lines.filter((l) => l.trim()).map((l) => l.search(/\S/)));
  return lines.map((l) => (l.trim() ? indent + l.slice(margin) : ""));
}

/**
 * Every page in `dir` (pages/ unless a test names another) rendered into the layout, partials
 * included. Writes nothing.
 * @param {string} [dir]
 * @returns {Map<string, string>} each page's path under public/ (as under `dir`) → its HTML
 */
export function renderPages(dir = PAGES_DIR) {
  /** How errors name a file: from the folder that holds `dir`, e.g. pages/index.html. */
  const named = (/** @type {string} */ path) => relative(dirname(dir), path);
  const read = (/** @type {string} */ path, /** @type {string} */ where) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      fail(where, `cannot read ${named(path)}`);
    }
  };

  /** A file's lines, each include marker replaced by its partial; any other marker is an error. */
  const expand = (/** @type {string} */ path, /** @type {boolean} */ slots = false) =>
    read(path, named(path))
      .replace(/\n+$/, "")
      .split("\n")
      .flatMap((line, i) => {
        const include = INCLUDE.exec(line);
        if (!include) {
          if (MARKER.test(line) && !(slots && SLOT.test(line))) {
            fail(`${named(path)}:${i + 1}`, `not a marker here: ${line.trim()} (${MARKERS})`);
          }
          return [line];
        }
        const [, indent = "", name = ""] = include;
        const partial = join(dir, "partials", name);
        const lines = read(partial, `${named(path)}:${i + 1}`)
          .replace(/\n+$/, "")
          .split("\n");
        const nested = lines.findIndex((l) => MARKER.test(l));
        if (nested >= 0) fail(`${named(partial)}:${nested + 1}`, "a partial includes nothing");
        return place(lines, indent);
      });

  const layoutPath = join(dir, "layout.html");
  const layout = expand(layoutPath, true);
  for (const slot of SLOTS) {
    const uses = layout.filter((line) => SLOT.exec(line)?.[2] === slot).length;
    if (uses !== 1) fail(named(layoutPath), `needs <!-- slot: ${slot} --> once, has it ${uses}×`);
  }

  /** @param {string} path */
  const render = (path) => {
    const page = PAGE.exec(expand(path).join("\n"));
    if (!page) fail(named(path), "a page is its <head>…</head> and then its <body>…</body>, only");
    const [, ownHead = "", body = ""] = page;
    const head = ownHead.split("\n");
    const title = head.findIndex((line) => line.includes("</title>"));
    if (title < 0 || head.filter((line) => line.includes("<title")).length !== 1) {
      fail(named(path), "its <head> needs one <title>…</title>");
    }
    /** @type {Record<string, string[]>} */
    const slots = {
      title: head.slice(0, title + 1),
      head: head.slice(title + 1),
      body: body.split("\n"),
    };
    const html = layout.flatMap((line, i) => {
      const slot = SLOT.exec(line);
      if (!slot) return [line];
      const [, indent = "", name = ""] = slot;
      const lines = slots[name];
      if (!lines) fail(`${named(layoutPath)}:${i + 1}`, `no slot "${name}" (${SLOTS})`);
      return place(lines, indent);
    });
    return `${html.join("\n")}\n`;
  };

  /** @type {Map<string, string>} */
  const pages = new Map();
  for (const path of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
    const full = join(dir, path);
    if (path === "layout.html" || path.split(sep)[0] === "partials") continue;
    if (statSync(full).isDirectory()) continue;
    if (!path.endsWith(".html")) {
      fail(named(full), "pages/ holds HTML pages only (files go in public/)");
    }
    pages.set(path, render(full));
  }
  return pages;
}

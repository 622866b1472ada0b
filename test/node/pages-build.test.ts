/**
 * The HTML pages' build (scripts/pages.mjs, run by scripts/build.mjs): every page in pages/ gets
 * the layout's skeleton once, around its own head lines and body, with the partials it includes
 * in place; a source it cannot render fails with the file's name. Rendered in memory: nothing
 * is written into public/.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PAGES_DIR, renderPages } from "../../scripts/pages.mjs";

/** Each page: its title and its module script, and the stylesheets of its own. */
const PAGES: Record<string, { title: string; script: string; styles: string[] }> = {
  "agent.html": {
    title: "Agent console · edge-rooms help desk",
    script: "/agent.js",
    styles: ["/desk.css"],
  },
  "dashboard.html": {
    title: "edge-rooms dashboard",
    script: "/dashboard.js",
    styles: ["/pages.css"],
  },
  "index.html": { title: "edge-rooms chat", script: "/app.js", styles: [] },
  "jobs/index.html": { title: "edge-rooms jobs", script: "/jobs.js", styles: ["/pages.css"] },
  "support.html": {
    title: "Support chat · edge-rooms",
    script: "/support.js",
    styles: ["/desk.css"],
  },
};
const SKELETON = [
  "<!doctype html>",
  '<html lang="en">',
  "<head>",
  '<meta charset="utf-8" />',
  '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />',
  '<link rel="icon" href="data:," />',
  '<link rel="stylesheet" href="/style.css" />',
  "</head>",
  "</body>",
  "</html>",
];

const count = (text: string, part: string) => text.split(part).length - 1;
const pages = renderPages();

describe("pages/ rendered into public/", () => {
  it("renders every page, and neither the layout nor a partial as one", () => {
    expect([...pages.keys()].sort()).toEqual(Object.keys(PAGES));
  });

  it.each(Object.entries(PAGES))("%s: the skeleton once, then its own head", (path, own) => {
    const html = pages.get(path)!;
    for (const line of SKELETON) expect(count(html, line), line).toBe(1);
    expect(count(html, "<body")).toBe(1);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">\n {2}<head>\n {4}<meta charset/);
    expect(html.endsWith("  </body>\n</html>\n")).toBe(true);
    expect(html).not.toMatch(/<!-- *(include|slot)/);

    // The head in the order pages had when each was written whole: the page's title right after
    // the shared metas, the shared stylesheet before the page's own, its module script last.
    const head = html.slice(0, html.indexOf("</head>")).split("\n").slice(3);
    const order = [
      '    <meta charset="utf-8" />',
      expect.stringMatching(/^ {4}<meta name="viewport"/),
      ...(path === "jobs/index.html" ? Array(3).fill(expect.any(String)) : []), // its comment
      `    <title>${own.title}</title>`,
      '    <link rel="icon" href="data:," />',
      '    <link rel="stylesheet" href="/style.css" />',
      ...own.styles.map((href) => `    <link rel="stylesheet" href="${href}" />`),
      ...(path === "dashboard.html"
        ? ['    <link rel="modulepreload" href="/vendor/echarts.esm.min.mjs" />']
        : []),
      `    <script type="module" src="${own.script}"></script>`,
      "  ",
    ];
    expect(head).toEqual(order);
    expect(count(html, "<title>")).toBe(1);
    expect(count(html, "<script")).toBe(1);
  });

  it("puts the conversation partial in each page that includes it, indented in place", () => {
    const partial = readFileSync(join(PAGES_DIR, "partials/conversation.html"), "utf8")
      .trimEnd()
      .split("\n");
    const holders = [...pages].filter(([, html]) => html.includes(partial[0]!));
    // Where the partial stands, pages/ does not repeat it.
    expect(holders.map(([path]) => path)).toEqual(["agent.html", "index.html", "support.html"]);
    for (const [path, html] of holders) {
      const lines = html.split("\n");
      const at = lines.findIndex((line) => line.trim() === partial[0]);
      // Its lines together, as deep as the marker stood in the source (whose body is the
      // layout's, two spaces in).
      const source = readFileSync(join(PAGES_DIR, path), "utf8");
      const marker = source.match(/^( *)<!-- include: conversation\.html -->$/m)!;
      const indent = `  ${marker[1]}`;
      expect(lines.slice(at, at + partial.length), path).toEqual(partial.map((l) => indent + l));
      expect(count(html, 'id="composer"'), path).toBe(1);
    }
  });
});

describe("a source the build cannot render", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** A copy of pages/ with these files written over it; errors name files as pages/… */
  const pagesWith = (files: Record<string, string>) => {
    const dir = join(mkdtempSync(join(tmpdir(), "pages-build-")), "pages");
    dirs.push(dirname(dir));
    cpSync(PAGES_DIR, dir, { recursive: true });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };
  const page = (body: string) => `<head>\n  <title>t</title>\n</head>\n<body>\n${body}\n</body>\n`;

  it("renders a copy of pages/ as pages/ itself", () => {
    expect(renderPages(pagesWith({}))).toEqual(pages);
  });

  it("fails on a missing partial, naming the page, its line and the partial", () => {
    const dir = pagesWith({ "extra.html": page("  <p>a</p>\n  <!-- include: nope.html -->") });
    expect(() => renderPages(dir)).toThrow(
      "pages/extra.html:6: cannot read pages/partials/nope.html",
    );
  });

  it("fails on a page that is not its <head> and then its <body>", () => {
    const dir = pagesWith({ "jobs/index.html": "<body>\n  <p>no head</p>\n</body>\n" });
    expect(() => renderPages(dir)).toThrow(/^pages\/jobs\/index\.html: a page is its <head>/);
  });

  it("fails on a head without its title", () => {
    const dir = pagesWith({ "extra.html": "<head></head>\n<body></body>\n" });
    expect(() => renderPages(dir)).toThrow("pages/extra.html: its <head> needs one <title>");
  });

  it("fails on a marker written wrong, or where it does not belong", () => {
    for (const [line, name] of [
      ["  <!-- include conversation.html -->", "extra.html"],
      ["  <p><!-- include: conversation.html --></p>", "extra.html"],
      ["  <!-- slot: body -->", "extra.html"],
    ] as const) {
      const dir = pagesWith({ [name]: page(line) });
      expect(() => renderPages(dir), line).toThrow(`pages/${name}:5: not a marker here`);
    }
    const nested = pagesWith({ "partials/conversation.html": "<!-- include: other.html -->\n" });
    expect(() => renderPages(nested)).toThrow(
      "pages/partials/conversation.html:1: a partial includes nothing",
    );
  });

  it("fails on a layout without one of its slots, naming the layout", () => {
    const layout = readFileSync(join(PAGES_DIR, "layout.html"), "utf8");
    const dir = pagesWith({ "layout.html": layout.replace("<!-- slot: body -->", "") });
    expect(() => renderPages(dir)).toThrow(
      "pages/layout.html: needs <!-- slot: body --> once, has it 0×",
    );
  });

  it("fails on a file that is not a page", () => {
    const dir = pagesWith({ "logo.svg": "<svg></svg>\n" });
    expect(() => renderPages(dir)).toThrow("pages/logo.svg: pages/ holds HTML pages only");
  });
});

/**
 * The layers of src/, checked on every import: the protocol depends on nothing of ours, the
 * objects only on the protocol, the Worker's routes only on the protocol (never on an object's
 * internals), the browser client only on the protocol. src/index.ts, the entry, ties them
 * together. An import against these arrows fails here, with the file and the line.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");

/** Which layers each layer may import (its own included); packages are checked separately. */
const ALLOWED: Record<string, string[]> = {
  protocol: ["protocol"],
  objects: ["objects", "protocol"],
  worker: ["worker", "protocol"],
  client: ["client", "protocol"],
};
/** Packages a layer may import: the protocol and the client run in browsers too. */
const PACKAGES: Record<string, RegExp> = {
  protocol: /^$/,
  client: /^$/,
  objects: /^cloudflare:workers$/,
  worker: /^(hono(\/.*)?|cloudflare:workers)$/,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

const layerOf = (path: string): string | null => {
  const top = relative(SRC, path).split("/")[0]!;
  return top in ALLOWED ? top : null;
};

/** Every import and export-from specifier of a file, with its line (type-only ones too). */
function importsOf(path: string): { spec: string; line: number }[] {
  const text = readFileSync(path, "utf8");
  const found: { spec: string; line: number }[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(re)) {
    found.push({ spec: m[1] ?? m[2]!, line: text.slice(0, m.index).split("\n").length });
  }
  return found;
}

/** The imports of one file that break the arrows, as "file:line → import". */
function badImports(file: string, imports: { spec: string; line: number }[]): string[] {
  const layer = layerOf(file);
  if (layer === null) return []; // src/index.ts and src/env.d.ts: the entry may import anything
  return imports
    .filter(({ spec }) => {
      if (!spec.startsWith(".")) return !PACKAGES[layer]!.test(spec);
      const target = layerOf(resolve(dirname(file), spec));
      return target === null || !ALLOWED[layer]!.includes(target);
    })
    .map(({ spec, line }) => `${relative(SRC, file)}:${line} → ${spec}`);
}

describe("layers of src/", () => {
  it("has the layers it is checked against", () => {
    const layers = new Set(sourceFiles(SRC).map(layerOf));
    for (const layer of ["protocol", "objects", "worker"]) expect(layers).toContain(layer);
  });

  it("imports only along the arrows: worker → protocol, objects → protocol, client → protocol", () => {
    expect(sourceFiles(SRC).flatMap((file) => badImports(file, importsOf(file)))).toEqual([]);
  });

  it("reads every import of a file", () => {
    const file = join(SRC, "objects/hub.ts");
    const specs = importsOf(file).map((i) => i.spec);
    expect(specs).toContain("cloudflare:workers");
    expect(specs).toContain("../protocol");
    expect(specs).toContain("./history");
  });

  it("catches imports against the arrows", () => {
    const at = (path: string, spec: string) => badImports(join(SRC, path), [{ spec, line: 1 }]);
    expect(at("protocol/names.ts", "../objects/hub")).toEqual([
      "protocol/names.ts:1 → ../objects/hub",
    ]);
    expect(at("worker/join.ts", "../objects/room")).toHaveLength(1);
    expect(at("objects/room.ts", "../worker/join")).toHaveLength(1);
    expect(at("client/index.ts", "../worker/auth")).toHaveLength(1);
    expect(at("protocol/names.ts", "hono")).toHaveLength(1);
    expect(at("worker/join.ts", "../protocol")).toEqual([]);
    expect(at("objects/desk/desk.ts", "../../protocol")).toEqual([]);
    expect(at("index.ts", "./objects/room")).toEqual([]);
  });
});

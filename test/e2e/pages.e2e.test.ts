/**
 * The pages as `wrangler dev` serves them: each comes with HTTP headers that keep it from being
 * framed by another site (clickjacking), from running scripts from anywhere but its own origin,
 * from having a response sniffed into another type, and from sending its URL — which may carry a
 * join token — to other sites as a Referer. A `<meta>` tag cannot do the first of those
 * (`frame-ancestors` is ignored there), so the test reads the HTTP headers themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type DevServer } from "./server";

let server: DevServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const PAGES = ["/", "/support.html", "/agent.html", "/dashboard.html", "/jobs/"];

/** The directives of a Content-Security-Policy header, by name. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((words) => words[0] !== "")
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  );
}

describe("security headers on every page", () => {
  for (const path of PAGES) {
    it(`serves ${path} with CSP, nosniff and no-referrer`, async () => {
      // Followed: the assets server answers /support.html with a redirect to /support, and the
      // headers that matter are the page's own.
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, `${path} (${res.url}) answered ${res.status}`).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      await res.arrayBuffer();

      const csp = res.headers.get("content-security-policy");
      expect(csp, `${path} has no Content-Security-Policy header`).not.toBeNull();
      const policy = directives(csp!);
      expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
      // Scripts from this origin only: no inline script, no other host.
      expect(policy.get("script-src") ?? policy.get("default-src")).toEqual(["'self'"]);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    });
  }
});

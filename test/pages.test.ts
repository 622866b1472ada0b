/**
 * Every page is served with its security headers as HTTP headers (public/_headers), not only as
 * a <meta>: `frame-ancestors` is ignored in a <meta>, so only the header stops another site from
 * framing the chat or an agent console, and the token-carrying pages must not leak their URL.
 * Static assets do not go through the Worker's fetch, so they are read through env.ASSETS.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const PAGES = ["/", "/support.html", "/agent.html", "/dashboard.html", "/jobs/"];

describe("pages", () => {
  it.each(PAGES)(
    "%s carries CSP (frame-ancestors 'none'), nosniff and no-referrer",
    async (path) => {
      const res = await env.ASSETS.fetch(`https://rooms.test${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      await res.body?.cancel();
    },
  );

  // Pages are written in pages/ and built into public/ (scripts/pages.mjs); their layout and
  // partials are not pages.
  it.each(["/layout.html", "/partials/conversation.html", "/pages/index.html"])(
    "%s is not served",
    async (path) => {
      const res = await env.ASSETS.fetch(`https://rooms.test${path}`);
      expect(res.status).toBe(404);
      await res.body?.cancel();
    },
  );
});

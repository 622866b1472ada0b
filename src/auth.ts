/**
 * Who may join: the origin policy for browser upgrades (PROTOCOL section 5). Join tokens for
 * private rooms live here too once they exist. Pure functions, tested without a server.
 */

/**
 * Browsers always send `Origin` on a WebSocket upgrade; backends and CLIs usually do not, and
 * they are not the cross-site threat the check exists for, so no `Origin` is allowed.
 * `allowedList` is ALLOWED_ORIGINS: a comma list of origins, or `*` for any. The page's own
 * origin is always allowed, so the chat page works wherever the Worker is deployed.
 */
export function originAllowed(origin: string | null, requestUrl: URL, allowedList: string): boolean {
  if (origin === null) return true;
  if (origin === requestUrl.origin) return true;
  const allowed = allowedList
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter((s) => s !== "");
  return allowed.includes("*") || allowed.includes(origin);
}

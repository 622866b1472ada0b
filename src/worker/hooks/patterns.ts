/**
 * Which places a hook applies to: a comma-separated list of names in which `*` matches any run
 * of characters (`support-*,orders`). Every hook setting of the Worker (`AUTH_HOOK_ROOMS` and
 * the others naming rooms) is read with this one matcher, so a pattern means the same everywhere.
 */

/** One pattern as an anchored regular expression: everything but `*` is literal. */
function patternRegExp(pattern: string): RegExp {
  const literal = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${literal}$`);
}

/**
 * Whether `name` matches one of the comma-separated `patterns`. Blanks around a pattern are
 * ignored; an empty list matches nothing, so an empty setting turns a hook off for every place.
 */
export function matchesPattern(patterns: string, name: string): boolean {
  return patterns
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .some((p) => patternRegExp(p).test(name));
}

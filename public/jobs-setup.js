// @ts-check
/**
 * The jobs page's sign-in: which user and join token a link (`/jobs/?user=…&token=…`) opens the
 * page for, why one cannot (said before anything connects), and the form that asks for them.
 * jobs.js runs the page once they are right.
 */
import { USER_ID, isObject } from "./rooms-client.js";
import { byId, field, sayProblem } from "./kit/dom.js";

/**
 * The claims of a join token, unverified: only to say early that a token is for someone else
 * (the server checks the signature, and refuses such a token anyway).
 * @param {string} token
 * @returns {Record<string, unknown> | null}
 */
function peekClaims(token) {
  try {
    const part = /** @type {string} */ (token.split(".")[1]).replace(/-/g, "+").replace(/_/g, "/");
    const claims = /** @type {unknown} */ (
      JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")))
    );
    return isObject(claims) ? claims : null;
  } catch {
    return null; // not a JWT we can read: the server will say what is wrong with it
  }
}

/**
 * @param {URLSearchParams} params
 * @param {string} [problem] why the link did not work
 */
export function showSetup(params, problem) {
  byId("setup").hidden = false;
  const form = byId("setup-form", HTMLFormElement);
  const userInput = field(form, "user");
  const tokenInput = field(form, "token");
  const error = byId("setup-error");
  userInput.value = params.get("user") ?? "";
  tokenInput.value = params.get("token") ?? "";
  /** @param {string | undefined} text */
  const say = (text) => sayProblem(error, text);
  say(problem);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams({
      user: userInput.value.trim(),
      token: tokenInput.value.trim(),
    });
    const why = check(next);
    if (why !== undefined) return say(why);
    location.search = next.toString();
  });
}

/**
 * Why these parameters cannot open the page, or undefined when they can.
 * @param {URLSearchParams} params
 */
export function check(params) {
  const user = params.get("user") ?? "";
  const token = params.get("token") ?? "";
  if (!USER_ID.test(user))
    return "A user id is 1–64 letters, digits or “_ . : @ -”, and does not start with “guest-”.";
  if (token === "") return "The page needs a join token for your user's room.";
  const sub = peekClaims(token)?.sub;
  if (typeof sub === "string" && sub !== user)
    return `This token is for the user “${sub}”, not “${user}”.`;
  return undefined;
}

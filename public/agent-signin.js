// @ts-check
/**
 * The agent console's sign-in. Agents sign in with a desk token of role "agent" (a token whose
 * place is the desk, `desk: help` or `*`; a room token never opens a desk):
 * `/agent.html?desk=help&token=<token>`, minted by the backend that knows its agents, or locally
 * with
 *   npm run token -- --user kefu1 --name Li --desk help --role agent
 * Agents are never guests: without a token this form says how to get one, and shows why a token
 * was refused. agent.js runs the console once a link carries one.
 */
import { ROOM_NAME } from "./rooms-client.js";
import { byId, field, sayProblem } from "./kit/dom.js";

/** @param {string} desk @param {string} [error] */
export function showSignin(desk, error) {
  byId("console").hidden = true;
  byId("signin").hidden = false;
  byId("token-command").textContent =
    `npm run token -- --user kefu1 --name Li --desk ${desk} --role agent`;
  const form = byId("signin-form", HTMLFormElement);
  const deskInput = field(form, "desk");
  const tokenInput = field(form, "token");
  deskInput.value = desk;
  const problem = byId("signin-error");
  sayProblem(problem, error);
  tokenInput.focus();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!ROOM_NAME.test(deskInput.value.trim()) || tokenInput.value.trim() === "") {
      sayProblem(problem, "A desk name (letters, digits, “_”, “.”, “-”) and a token, please.");
      return;
    }
    const query = { desk: deskInput.value.trim(), token: tokenInput.value.trim() };
    location.search = new URLSearchParams(query).toString();
  });
}

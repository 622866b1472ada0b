/**
 * One signed POST from the command line tools (push CLI, demo feeders): signs the body with
 * PUSH_SECRET (Standard Webhooks) and reports a refused or unreachable server in one clear line.
 */
import { signWebhook } from "../src/protocol/webhook.ts";
import { secret } from "./secrets.ts";

export async function signedPost(
  base: string,
  path: string,
  body: string,
  id: string,
): Promise<Response> {
  const headers = await signWebhook(secret("PUSH_SECRET"), id, body);
  try {
    return await fetch(`${base}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
    });
  } catch (err) {
    throw new Error(
      `could not reach ${base}${path} (${err instanceof Error ? err.message : err}); is \`npm start\` running?`,
    );
  }
}

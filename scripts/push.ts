/**
 * Signs and sends one push, as any backend would:
 *   npm run push -- --room orders --event order.paid --data '{"order":7}' [--to u1] [--no-store]
 * Reads PUSH_SECRET from the environment or .dev.vars; --url (or ROOMS_URL) picks the server.
 */
import { parseArgs } from "node:util";
import { baseUrl } from "./secrets.ts";
import { signedPost } from "./signed-post.ts";

const USAGE =
  "usage: npm run push -- --room <room> --event <name> [--data <json>] [--to <user>] [--no-store] [--id <webhook-id>] [--url <base>]";

function main(): Promise<number> | number {
  const { values } = parseArgs({
    options: {
      room: { type: "string" },
      event: { type: "string" },
      data: { type: "string" },
      to: { type: "string" },
      "no-store": { type: "boolean" },
      id: { type: "string" },
      url: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help || !values.room || !values.event) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  let data: unknown = null;
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data);
    } catch {
      console.error(`--data must be JSON, got: ${values.data}`);
      return 2;
    }
  }
  const body = JSON.stringify({
    room: values.room,
    event: values.event,
    data,
    ...(values.to ? { to: values.to } : {}),
    ...(values["no-store"] ? { store: false } : {}),
  });
  return send(baseUrl(values.url), body, values.id ?? `msg_${crypto.randomUUID()}`);
}

async function send(base: string, body: string, id: string): Promise<number> {
  const res = await signedPost(base, "/push", body, id);
  console.log(await res.text());
  return res.ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}

/**
 * The publish hook's decisions (PUBLISH_HOOK_URL): your backend accepts, rewrites or rejects
 * each client message before the room stores it. 200 `{}` stores it as it is, 200 `{"data": v}`
 * stores it with `v`, 403 refuses it (`rejected`, with the backend's message); anything else, or
 * no answer in time, refuses it too (`hook_unavailable`): nothing unchecked is stored.
 *
 * Messages are asked about as they arrive, so the calls of a busy room overlap and the room is
 * not held to one backend round trip per message; the room stores the answered ones in their
 * arrival order all the same (room.ts). A re-sent id whose first send is still being decided
 * shares that decision instead of asking again.
 */
import { callHook, type Member, type PublishHook } from "../protocol";
import type { ClientFrame } from "../protocol/client-frames";

export type Decision =
  | { store: true; data: unknown }
  | { store: false; code: "rejected" | "hook_unavailable"; message: string };

type Written = Extract<ClientFrame, { type: "message" | "direct" }>;

export class PublishGate {
  readonly #hook: PublishHook;
  readonly #room: string;
  /** Decisions still being asked for, by sender and frame id. */
  readonly #asking = new Map<string, Promise<Decision>>();

  constructor(hook: PublishHook, room: string) {
    this.#hook = hook;
    this.#room = room;
  }

  decide(from: Member, frame: Written): Promise<Decision> {
    if (frame.id === undefined) return this.#ask(from, frame);
    const key = `${from.id.length}:${from.id}:${frame.id}`;
    const asking = this.#asking.get(key);
    if (asking !== undefined) return asking;
    const decision = this.#ask(from, frame).finally(() => this.#asking.delete(key));
    this.#asking.set(key, decision);
    return decision;
  }

  async #ask(from: Member, frame: Written): Promise<Decision> {
    const refuse = (code: "rejected" | "hook_unavailable", message: string): Decision => ({
      store: false,
      code,
      message,
    });
    const hook = this.#hook;
    if (!hook.secret)
      return refuse("hook_unavailable", "the publish hook needs HOOK_SECRET on the server");
    const asked = {
      room: this.#room,
      from,
      type: frame.type,
      to: frame.type === "direct" ? frame.to : null,
      data: frame.data,
      id: frame.id ?? null,
    };
    const answer = await callHook(hook.url, hook.secret, asked, hook.timeoutMs);
    if (!answer.ok)
      return refuse("hook_unavailable", "the backend did not decide on this message in time");
    const body = answer.json;
    if (answer.status === 403) {
      const said =
        typeof body === "object" && body !== null
          ? (body as { message?: unknown }).message
          : undefined;
      return refuse(
        "rejected",
        typeof said === "string" && said !== "" ? said : "the backend refused this message",
      );
    }
    if (answer.status !== 200 || typeof body !== "object" || body === null || Array.isArray(body))
      return refuse("hook_unavailable", "the backend's answer to this message was not a decision");
    return { store: true, data: "data" in body ? (body as { data: unknown }).data : frame.data };
  }
}

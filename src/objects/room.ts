/**
 * Room: one Durable Object per room. Group messages reach every member, direct messages only
 * their two parties, pushed events everyone or one user; each stored frame takes the room's next
 * `seq`. Sockets, checks, storage and sending are the Hub's (hub.ts), welcome, acks and
 * history pages the Place's (place.ts); this file is what a room means.
 */
import type { ClientFrame, ClientFrameType } from "../protocol/client-frames";
import { Place } from "./place";
import { Presence } from "./presence";
import { readPresenceCountMs } from "./registry";
import type { Connection } from "./members";
import {
  callHook,
  errorFrame,
  readPublishHook,
  type PublishHook,
  type DirectFrame,
  type EventFrame,
  type Member,
  type MessageFrame,
  type Join,
  type PublishResult,
  type RoomEvent,
  type RoomEventResult,
} from "../protocol";

const ROOM_FRAMES: ReadonlySet<ClientFrameType> = new Set(["message", "direct", "history"]);
const pushKey = (pushId: string) => `push:${pushId}`;

export class Room extends Place {
  protected readonly accepts = ROOM_FRAMES;
  /** PUBLISH_HOOK_URL for this room, or null: then nothing here waits for a backend. */
  readonly #publishHook: PublishHook | null;
  /**
   * With a publish hook, every store waits for the ones before it (each may wait for the
   * backend), so frames are stored in the order they arrived, hook or not. Memory only, by
   * design: a chain lost to eviction had nothing stored or acknowledged yet, and the clients
   * re-send what was not acknowledged.
   */
  #inOrder: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#publishHook = readPublishHook(env, ctx.id.name ?? "");
  }

  /** Runs `step` after every earlier store of this room (only when a publish hook is on). */
  #afterEarlier<T>(step: () => T | Promise<T>): Promise<T> {
    const run = this.#inOrder.then(step);
    this.#inOrder = run.catch(() => undefined);
    return run;
  }

  /** Members one by one, or counts above PRESENCE_MAX (presence.ts says why). */
  readonly #presence = new Presence(
    this.limits.presenceMax,
    readPresenceCountMs(this.env),
    this.ctx.storage.kv,
    {
      count: () => this.members.count,
      list: () => this.members.list(),
      broadcast: (text) => this.broadcast(text),
      armAlarm: (at) => this.armAlarm(at),
    },
  );

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    // The join that takes the room over PRESENCE_MAX is already a count: decided before welcome.
    const perMember = first ? this.#presence.changed(Date.now()) : !this.#presence.counting;
    // A raw socket gets no welcome and no replay (not even read): only live data from now on.
    if (conn.raw !== true) this.welcome(ws, conn, join, perMember ? this.members.list() : null);
    if (!first) return;
    this.occupancyChanged();
    const member = { id: conn.id, name: conn.name };
    if (perMember) this.broadcast(this.presence("join", member), ws);
    this.events.joined(member, this.members.count, Date.now());
  }

  protected onLeave(member: Member): void {
    this.occupancyChanged();
    if (this.#presence.changed(Date.now())) this.broadcast(this.presence("leave", member));
    // Presence inside the room is immediate; your backend hears of it after the grace.
    const due = this.events.left(member, Date.now());
    if (due !== null) this.armAlarm(due);
  }

  protected onFrame(ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    if (frame.type === "history") return this.answerHistory(ws, conn, frame);
    if (frame.type !== "message" && frame.type !== "direct") return;
    if (frame.type === "message" && frame.to !== undefined) {
      // A room message always goes to everyone; a "to" here is a client bug that would leak.
      this.reply(
        ws,
        conn,
        errorFrame("invalid_frame", 'a room "message" has no "to": use "direct"', frame.id),
      );
      return;
    }
    if (this.#publishHook !== null) {
      const hook = this.#publishHook;
      void this.#afterEarlier(() => this.#storeChecked(ws, conn, frame, hook)).catch((err) => {
        console.error(`Room ${this.ctx.id}: storing through the publish hook failed`, err);
        this.reply(
          ws,
          conn,
          errorFrame("internal", "this frame could not be handled; nothing was stored", frame.id),
        );
      });
      return;
    }
    this.#store(ws, conn, frame, frame.data);
  }

  /**
   * The publish hook decides first: 200 `{}` stores the frame as it is, 200 `{"data": v}`
   * stores it with `v`, 403 refuses it (`rejected`, with the backend's message), anything else
   * or no answer in time refuses it too (`hook_unavailable`): nothing unchecked is stored. A
   * re-sent id is answered from the first store, without asking again.
   */
  async #storeChecked(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "message" | "direct" }>,
    hook: PublishHook,
  ): Promise<void> {
    if (this.acknowledgedBefore(ws, conn, frame.id, Date.now())) return;
    const refuse = (code: "rejected" | "hook_unavailable", message: string) =>
      this.reply(ws, conn, errorFrame(code, message, frame.id));
    if (!hook.secret)
      return refuse("hook_unavailable", "the publish hook needs HOOK_SECRET on the server");
    const from: Member = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    const asked = {
      room: this.name,
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
    if (answer.status !== 200 || typeof body !== "object" || body === null || Array.isArray(body)) {
      return refuse("hook_unavailable", "the backend's answer to this message was not a decision");
    }
    this.#store(ws, conn, frame, "data" in body ? (body as { data: unknown }).data : frame.data);
  }

  /** Stores a client message or direct message with `data` and delivers it; acks its id. */
  #store(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "message" | "direct" }>,
    data: unknown,
  ): void {
    const now = Date.now();
    if (this.acknowledgedBefore(ws, conn, frame.id, now)) return;
    const from: Member = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    const recipient = frame.type === "direct" ? frame.to : null;
    const { seq, body } = this.history.append({ sender: conn.id, recipient }, (seq) =>
      JSON.stringify(
        frame.type === "direct"
          ? ({
              type: "direct",
              seq,
              id: frame.id,
              from,
              to: frame.to,
              data,
              ts: now,
            } satisfies DirectFrame)
          : ({
              type: "message",
              seq,
              id: frame.id,
              from,
              data,
              ts: now,
            } satisfies MessageFrame),
      ),
    );
    // With `data`, raw sockets get that data's text (made only if one is here).
    if (recipient === null) this.broadcast(body, undefined, data);
    else this.sendToUsers(body, [conn.id, recipient], "member", data);
    this.acknowledge(ws, conn, frame.id, seq, now);
    if (this.events.messages)
      this.events.emit({ type: "message.created", frame: JSON.parse(body) }, now);
  }

  /**
   * Delivers pushed events (POST /push) in the room's order. The push id is remembered for 24 h:
   * the same id again delivers nothing and answers the first results with `duplicate: true`.
   */
  async publish(pushId: string, events: RoomEvent[]): Promise<PublishResult> {
    // Behind client frames still waiting for the publish hook, so the order stays arrival order.
    if (this.#publishHook !== null)
      return this.#afterEarlier(() => this.#publishNow(pushId, events));
    return this.#publishNow(pushId, events);
  }

  #publishNow(pushId: string, events: RoomEvent[]): PublishResult {
    const now = Date.now();
    const seen = this.history.keys.recall(pushKey(pushId), now);
    if (seen !== undefined)
      return { duplicate: true, results: JSON.parse(seen) as RoomEventResult[] };
    const results = events.map((e) => this.#publishOne(e, now));
    this.history.keys.remember(pushKey(pushId), JSON.stringify(results), now);
    // Written before the answer: a backend told "stored" must find it stored.
    this.history.flush();
    return { duplicate: false, results };
  }

  /** Whether a push id was delivered here within the last 24 h (jobs use it to skip redeliveries). */
  async published(pushId: string): Promise<boolean> {
    return this.history.keys.recall(pushKey(pushId), Date.now()) !== undefined;
  }

  #publishOne(e: RoomEvent, now: number): RoomEventResult {
    const frame = (seq: number | undefined) =>
      JSON.stringify({
        type: "event",
        ...(seq === undefined ? {} : { seq }),
        id: e.id,
        event: e.event,
        data: e.data,
        to: e.to,
        ts: now,
      } satisfies EventFrame);
    const deliver = (text: string) =>
      e.to === null
        ? this.broadcast(text, undefined, e.data)
        : this.sendToUsers(text, [e.to], "member", e.data);
    if (!e.store) return { seq: null, delivered: deliver(frame(undefined)) };
    const { seq, body } = this.history.append({ sender: null, recipient: e.to }, frame);
    return { seq, delivered: deliver(body) };
  }

  protected override onAlarm(now: number): number | null {
    const presence = this.#presence.onAlarm(now);
    const report = super.onAlarm(now);
    return presence === null ? report : Math.min(presence, report ?? Infinity);
  }
}

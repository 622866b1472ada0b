/**
 * Room: one Durable Object per room. Group messages reach every member, direct messages only
 * their two parties, pushed events everyone or one user; each stored frame takes the room's next
 * `seq`. Sockets, checks, storage and sending are the Hub's (hub.ts); this file is what a room
 * means.
 */
import type { ClientFrame, ClientFrameType } from "../protocol/client-frames";
import { Hub } from "./hub";
import type { Connection } from "./members";
import {
  errorFrame,
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

export class Room extends Hub {
  protected readonly accepts = ROOM_FRAMES;

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    this.welcome(ws, conn, join, this.members.list());
    if (!first) return;
    const member = { id: conn.id, name: conn.name };
    this.broadcast(this.presence("join", member), ws);
    this.events.joined(member, this.members.count, Date.now());
  }

  protected onLeave(member: Member): void {
    this.broadcast(this.presence("leave", member));
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
              data: frame.data,
              ts: now,
            } satisfies DirectFrame)
          : ({
              type: "message",
              seq,
              id: frame.id,
              from,
              data: frame.data,
              ts: now,
            } satisfies MessageFrame),
      ),
    );
    if (recipient === null) this.broadcast(body);
    else this.sendToUsers(body, [conn.id, recipient]);
    this.acknowledge(ws, conn, frame.id, seq, now);
    if (this.events.messages)
      this.events.emit({ type: "message.created", frame: JSON.parse(body) }, now);
  }

  /**
   * Delivers pushed events (POST /push) in the room's order. The push id is remembered for 24 h:
   * the same id again delivers nothing and answers the first results with `duplicate: true`.
   */
  async publish(pushId: string, events: RoomEvent[]): Promise<PublishResult> {
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
      e.to === null ? this.broadcast(text) : this.sendToUsers(text, [e.to]);
    if (!e.store) return { seq: null, delivered: deliver(frame(undefined)) };
    const { seq, body } = this.history.append({ sender: null, recipient: e.to }, frame);
    return { seq, delivered: deliver(body) };
  }
}

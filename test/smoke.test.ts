import { describe, expect, it } from "vitest";
import { join, uniqueRoom } from "./helpers";

describe("smoke", () => {
  it("echoes a message with seq and ack", async () => {
    const room = uniqueRoom();
    const { client: a, welcome } = await join(room, { user: "u1", name: "Ann" });
    expect(welcome).toMatchObject({ room, self: { id: "u1", name: "Ann" }, seq: 0 });
    const { client: b } = await join(room, { user: "u2", name: "Bo" });
    expect(await a.expect("presence")).toMatchObject({ action: "join", member: { id: "u2" }, count: 2 });
    a.send({ type: "message", data: { text: "hi" }, id: "c-1" });
    expect(await b.expect("message")).toMatchObject({ seq: 1, from: { id: "u1", name: "Ann" }, data: { text: "hi" } });
    expect(await a.expect("message")).toMatchObject({ seq: 1 });
    expect(await a.expect("ack")).toEqual({ type: "ack", id: "c-1", seq: 1 });
    a.close();
    b.close();
  });
});

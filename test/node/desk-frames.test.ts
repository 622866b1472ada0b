/**
 * The desk's own frames as the browser client reads them (src/client/frames.ts): a
 * customer's `welcome` with `agents_online`, a `closed` whose `agent` is null because the
 * conversation idled out in the queue, and the `desk_full` error a first message may get. Each
 * malformed variant is dropped (`null`) rather than handed to a page that would trust it.
 */
import { describe, expect, it } from "vitest";
import { parseServerFrame } from "../../src/client/index.ts";

const read = (frame: unknown) => parseServerFrame(JSON.stringify(frame));

const customerWelcome = {
  type: "welcome",
  room: "help",
  self: { id: "guest-ann", name: "Ann", token: "t" },
  members: [{ id: "guest-ann", name: "Ann" }],
  count: 1,
  seq: 0,
  replay: { from: 0, count: 0, complete: true },
};
const ann = { id: "guest-ann", name: "Ann" };
const li = { id: "kefu1", name: "Li" };

describe("desk frames in the client's parser", () => {
  it("reads agents_online from a customer's welcome, 0 included", () => {
    for (const n of [0, 1, 2, 40]) {
      const frame = read({ ...customerWelcome, agents_online: n });
      expect(frame).toMatchObject({ type: "welcome", agents_online: n });
    }
    // A room's welcome, or an agent's, has none.
    expect(read(customerWelcome)).not.toHaveProperty("agents_online");
  });

  it("drops a welcome whose agents_online is not a count", () => {
    for (const bad of [-1, 1.5, "2", null, true, {}])
      expect(read({ ...customerWelcome, agents_online: bad }), String(bad)).toBeNull();
  });

  it("reads closed with an agent, and with agent null (it idled out in the queue)", () => {
    expect(read({ type: "closed", customer: ann, agent: li })).toEqual({
      type: "closed",
      customer: ann,
      agent: li,
    });
    expect(read({ type: "closed", customer: ann, agent: null })).toEqual({
      type: "closed",
      customer: ann,
      agent: null,
    });
  });

  it("drops a closed without a customer, or whose agent is missing or malformed", () => {
    expect(read({ type: "closed", agent: li })).toBeNull();
    expect(read({ type: "closed", customer: null, agent: null })).toBeNull();
    expect(read({ type: "closed", customer: ann })).toBeNull(); // null is said, never implied
    expect(read({ type: "closed", customer: ann, agent: { id: "kefu1" } })).toBeNull();
  });

  it("still requires both parties of assigned: a conversation is never assigned to nobody", () => {
    const assigned = {
      type: "assigned",
      customer: { ...ann, online: true },
      agent: { ...li, online: true },
    };
    expect(read(assigned)).toEqual(assigned);
    expect(read({ ...assigned, agent: null })).toBeNull();
  });

  it("reads the desk_full error with the id of the refused first message", () => {
    const full = {
      type: "error",
      code: "desk_full",
      message: "this desk has 10000 open conversations, all it can hold: try again later",
      id: "c-1",
    };
    expect(read(full)).toEqual(full);
  });
});

/**
 * Who is connected (src/objects/members.ts): members are keyed by role and id together. While ids were
 * claimed, a desk customer who took its agent's id was counted as the agent's second socket: it
 * received the agent's frames, and the agent never "left" while it stayed, so the agent's
 * customers were never reassigned. Ids are proven now, and the key keeps the roles apart anyway.
 */
import { describe, expect, it } from "vitest";
import { Members, attachment } from "../src/objects/members";
import { TokenBucket } from "../src/objects/ratelimit";

const socket = () => new WebSocketPair()[1];
const members = () => new Members([], () => new TokenBucket(20, 40, Date.now()));

describe("Members: roles are kept apart", () => {
  it("counts a customer socket with an agent's id as another member, never as the agent", () => {
    const m = members();
    const agent = socket();
    const customer = socket();
    expect(m.add(agent, attachment("kefu1", "Li", false, "agent"))).toBe(true);
    expect(m.add(customer, attachment("kefu1", "Eve", false, "member"))).toBe(true);
    expect(m.count).toBe(2);
    expect([...m.socketsOf("kefu1", "agent")]).toEqual([agent]);
    expect([...m.socketsOf("kefu1", "member")]).toEqual([customer]);
    expect(m.member("kefu1", "agent")).toEqual({ id: "kefu1", name: "Li" });
    expect(m.member("kefu1")).toEqual({ id: "kefu1", name: "Eve" });
  });

  it("lets the agent leave while a customer socket of the same id stays", () => {
    const m = members();
    const agent = socket();
    const customer = socket();
    m.add(agent, attachment("kefu1", "Li", false, "agent"));
    m.add(customer, attachment("kefu1", "Eve", false, "member"));
    expect(m.remove(agent)).toEqual({ id: "kefu1", name: "Li", role: "agent" });
    expect(m.member("kefu1", "agent")).toBeNull();
    expect([...m.socketsOf("kefu1", "agent")]).toEqual([]);
  });

  it("still makes several sockets of one user in one role one member", () => {
    const m = members();
    const tab1 = socket();
    const tab2 = socket();
    expect(m.add(tab1, attachment("ann", "Ann", false))).toBe(true);
    expect(m.add(tab2, attachment("ann", "Ann", true))).toBe(false);
    expect(m.count).toBe(1);
    expect(m.list()).toEqual([{ id: "ann", name: "Ann" }]);
    expect(m.remove(tab1)).toBeNull();
    expect(m.remove(tab2)).toEqual({ id: "ann", name: "Ann", role: "member" });
  });
});

/**
 * Unit tests of src/protocol/: the name rules, display names, limits from the environment,
 * close codes, the UTF-8 size check, the URL that carries a checked join from the Worker to its
 * object, and the one parser every inbound client frame goes through. Pure functions, so no room or socket is involved, except where
 * the runtime's own `WebSocket.close` is the judge of which close codes can be answered.
 */
import { describe, expect, it } from "vitest";
import { connectUrl, readJoin, type Join } from "../src/protocol/contract";
import {
  DEFAULT_HISTORY_PAGE,
  MAX_HISTORY_PAGE,
  exceedsBytes,
  parseClientFrame,
} from "../src/protocol/client-frames";
import {
  DEFAULT_LIMITS,
  ROOM_NAME,
  MEMBER_ID,
  answerableCloseCode,
  cleanDisplayName,
  isRoomName,
  isGuestId,
  isMemberId,
  isUserId,
  readLimits,
  readPositive,
} from "../src/protocol";

describe("room names", () => {
  it("accepts 1 to 99 characters of A-Z a-z 0-9 _ . -", () => {
    expect(isRoomName("a")).toBe(true);
    expect(isRoomName("x".repeat(99))).toBe(true);
    expect(isRoomName("Az09_.-")).toBe(true);
    expect(ROOM_NAME.test("orders.v2_eu-west")).toBe(true);
  });

  it("refuses the empty name and 100 characters", () => {
    expect(isRoomName("")).toBe(false);
    expect(isRoomName("x".repeat(100))).toBe(false);
  });

  it("refuses characters outside the Channels group-name rule", () => {
    for (const bad of [
      "a b",
      "a/b",
      "a:b",
      "a@b",
      "a#b",
      "a?b",
      "a%b",
      "ä",
      "a\nb",
      "a+b",
      "a,b",
      "😀",
    ]) {
      expect(isRoomName(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("does not accept a valid name followed by a newline", () => {
    // `$` without the m flag must not match before a trailing "\n".
    expect(isRoomName("room\n")).toBe(false);
  });
});

describe("user ids", () => {
  it("accepts 1 to 64 characters of A-Z a-z 0-9 _ . : @ -", () => {
    expect(isUserId("u")).toBe(true);
    expect(isUserId("u".repeat(64))).toBe(true);
    expect(isUserId("ann@example.com:tab-1_a.b")).toBe(true);
    expect(MEMBER_ID.test("auth0|123")).toBe(false);
  });

  it("reserves the guest- prefix for ids the server makes", () => {
    expect(isUserId("guest-0123456789")).toBe(false);
    expect(isUserId("guest")).toBe(true);
    expect(isMemberId("guest-0123456789")).toBe(true);
    expect(isGuestId("guest-0123456789")).toBe(true);
    expect(isGuestId("guest-012345678")).toBe(false); // at least 10 characters after the prefix
    expect(isGuestId("guest-0123456789:x")).toBe(false);
    expect(isGuestId(`guest-${"a".repeat(58)}`)).toBe(true); // 64 in all
    expect(isGuestId(`guest-${"a".repeat(59)}`)).toBe(false);
  });

  it("refuses the empty id and 65 characters", () => {
    expect(isUserId("")).toBe(false);
    expect(isUserId("u".repeat(65))).toBe(false);
  });

  it("refuses forbidden characters", () => {
    for (const bad of [
      "a b",
      "a/b",
      "a#b",
      "a?b",
      "a%b",
      "a+b",
      "é",
      "a\nb",
      "u1\n",
      "😀",
      "a,b",
    ]) {
      expect(isUserId(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("cleanDisplayName", () => {
  it("trims surrounding whitespace", () => {
    expect(cleanDisplayName("  Ann  ")).toBe("Ann");
    expect(cleanDisplayName("\tBo ")).toBe("Bo");
  });

  it("trims a trailing newline away rather than refusing it (the rule applies after trimming)", () => {
    expect(cleanDisplayName("Ann\n")).toBe("Ann");
  });

  it("keeps inner spaces and non-ASCII letters", () => {
    expect(cleanDisplayName("Ann Lee")).toBe("Ann Lee");
    expect(cleanDisplayName("张伟")).toBe("张伟");
  });

  it("accepts 1 and 64 characters, refuses 65", () => {
    expect(cleanDisplayName("A")).toBe("A");
    expect(cleanDisplayName("n".repeat(64))).toBe("n".repeat(64));
    expect(cleanDisplayName("n".repeat(65))).toBeNull();
  });

  it("counts the limit after trimming", () => {
    expect(cleanDisplayName(` ${"n".repeat(64)} `)).toBe("n".repeat(64));
  });

  it("counts an emoji as one character, not two UTF-16 units", () => {
    const smile = "😀";
    expect(smile.length).toBe(2);
    expect(cleanDisplayName(smile.repeat(64))).toBe(smile.repeat(64));
    expect(cleanDisplayName(smile.repeat(65))).toBeNull();
    expect(cleanDisplayName(smile + "n".repeat(63))).toBe(smile + "n".repeat(63));
    expect(cleanDisplayName(smile + "n".repeat(64))).toBeNull();
  });

  it("refuses control characters inside the name", () => {
    for (const bad of [
      "A\nB",
      "A\rB",
      "A\tB",
      "A\u0000B",
      "A\u001bB",
      "A\u007fB",
      "A\u0085B",
      "Ann\u0000",
      "\u007f",
    ]) {
      expect(cleanDisplayName(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it("refuses bidirectional overrides and isolates, which can make a name read as another", () => {
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      const c = String.fromCodePoint(cp);
      expect(cleanDisplayName(`Ann${c}`), cp.toString(16)).toBeNull();
      expect(cleanDisplayName(`${c}nnA`), cp.toString(16)).toBeNull();
    }
    // Neighbours of the ranges stay allowed.
    expect(cleanDisplayName("A\u2065B")).toBe("A\u2065B");
    expect(cleanDisplayName("A\u202fB")).toBe("A\u202fB");
  });

  it("refuses a name that is empty after trimming", () => {
    expect(cleanDisplayName("")).toBeNull();
    expect(cleanDisplayName("   ")).toBeNull();
    expect(cleanDisplayName("\n\t ")).toBeNull();
  });
});

describe("readLimits", () => {
  it("uses the protocol's defaults when nothing is set", () => {
    const expected = {
      maxFrameBytes: 65536,
      maxPushBytes: 1048576,
      ratePerSec: 20,
      rateBurst: 40,
      historyLimit: 1000,
      agentGraceSec: 30,
      maxSocketsPerUser: 10,
      maxReplayBytes: 1048576,
      deskIdleSec: 86400,
      deskMaxOpen: 10000,
      presenceMax: 200,
    };
    expect(DEFAULT_LIMITS).toEqual(expected);
    expect(readLimits({})).toEqual(expected);
  });

  it("treats an empty string as unset", () => {
    expect(readLimits({ MAX_FRAME_BYTES: "", RATE_PER_SEC: "" })).toEqual(DEFAULT_LIMITS);
  });

  it("parses the string values wrangler.toml [vars] provide", () => {
    expect(
      readLimits({
        MAX_FRAME_BYTES: "4096",
        MAX_PUSH_BYTES: "2048",
        RATE_PER_SEC: "2.5",
        RATE_BURST: "7",
        HISTORY_LIMIT: "60",
        AGENT_GRACE_SEC: "0.5",
        MAX_SOCKETS_PER_USER: "3",
        MAX_REPLAY_BYTES: "5000",
        DESK_IDLE_SEC: "0.5",
        DESK_MAX_OPEN: "7",
        PRESENCE_MAX: "50",
      }),
    ).toEqual({
      maxFrameBytes: 4096,
      maxPushBytes: 2048,
      ratePerSec: 2.5,
      rateBurst: 7,
      historyLimit: 60,
      agentGraceSec: 0.5,
      maxSocketsPerUser: 3,
      maxReplayBytes: 5000,
      deskIdleSec: 0.5,
      deskMaxOpen: 7,
      presenceMax: 50,
    });
  });

  it("takes zero only where a variable asks for it (a delay), never for a limit", () => {
    expect(readPositive("0", "X_SEC", 2, false, { zero: true })).toBe(0);
    expect(readPositive(undefined, "X_SEC", 2, false, { zero: true })).toBe(2);
    expect(() => readPositive("0", "X", 2, false)).toThrow("X must be a positive number, got 0");
    expect(() => readPositive("-1", "X_SEC", 2, false, { zero: true })).toThrow(
      "X_SEC must be zero or a positive number, got -1",
    );
    expect(() => readPositive("3x", "N", 3, true)).toThrow("N must be a positive integer, got 3x");
  });

  it("keeps a fractional rate but refuses fractional integer limits", () => {
    expect(readLimits({ RATE_PER_SEC: "0.5" }).ratePerSec).toBe(0.5);
    expect(() => readLimits({ RATE_BURST: "40.9" })).toThrow(
      "RATE_BURST must be a positive integer, got 40.9",
    );
  });

  it("throws a clear error for a value that is not a positive number", () => {
    const names = [
      "MAX_FRAME_BYTES",
      "MAX_PUSH_BYTES",
      "RATE_PER_SEC",
      "RATE_BURST",
      "HISTORY_LIMIT",
      "MAX_SOCKETS_PER_USER",
      "MAX_REPLAY_BYTES",
      "DESK_IDLE_SEC",
      "DESK_MAX_OPEN",
      "PRESENCE_MAX",
    ] as const;
    for (const name of names) {
      for (const bad of ["abc", "0", "-1", "Infinity", "NaN"]) {
        expect(() => readLimits({ [name]: bad }), `${name}=${bad}`).toThrow(
          new RegExp(`^${name} must be a positive (number|integer), got ${bad}$`),
        );
      }
    }
  });

  it("refuses an integer limit that would round down to zero", () => {
    // src/protocol/ says a typo "must be loud, not silently 'unlimited' or zero", yet "0.5"
    // passes the positive check and is then floored to 0: a burst of 0 limits every frame, a
    // history limit of 0 deletes the newest frame too (History relies on HISTORY_LIMIT >= 1).
    for (const name of [
      "MAX_FRAME_BYTES",
      "MAX_PUSH_BYTES",
      "RATE_BURST",
      "HISTORY_LIMIT",
      "DESK_MAX_OPEN",
      "PRESENCE_MAX",
    ] as const) {
      expect(() => readLimits({ [name]: "0.5" }), `${name}=0.5`).toThrow(name);
    }
  });
});

describe("connectUrl and readJoin", () => {
  it("carry every field of a join across, whatever characters its names hold", () => {
    const joins: Join[] = [
      {
        name: "lobby",
        user: "guest-AbC_12-xyz90",
        displayName: "Ann & Bo = 100% + more?#/\u00e9\u4f60\u597d \ud83d\ude00",
        role: "member",
        since: 41,
        batch: true,
        guestToken: "eyJh.eyJz-_.c2ln",
      },
      {
        name: "desk-1",
        user: "42",
        displayName: "  spaced  ",
        role: "agent",
        since: 0,
        batch: false,
      },
      {
        name: "r",
        user: "u",
        displayName: "x",
        role: "member",
        since: undefined,
        batch: false,
        raw: true,
      },
    ];
    for (const join of joins) expect(readJoin(new URL(connectUrl(join)))).toEqual(join);
  });

  it("cannot be made to carry a second identity through a value", () => {
    const url = new URL(
      connectUrl({
        name: "lobby",
        user: "ann",
        displayName: "x&user=mallory&role=agent",
        role: "member",
        since: undefined,
        batch: false,
      }),
    );
    expect(url.searchParams.getAll("user")).toEqual(["ann"]);
    expect(url.searchParams.getAll("role")).toEqual(["member"]);
    expect(readJoin(url)).toMatchObject({ user: "ann", role: "member" });
  });
});

describe("answerableCloseCode", () => {
  it("maps the reserved codes a peer may report but nobody may send to 1000", () => {
    expect(answerableCloseCode(1005)).toBe(1000);
    expect(answerableCloseCode(1006)).toBe(1000);
    expect(answerableCloseCode(1015)).toBe(1000);
  });

  it("keeps ordinary and application codes", () => {
    expect(answerableCloseCode(1000)).toBe(1000);
    expect(answerableCloseCode(1001)).toBe(1001);
    expect(answerableCloseCode(1008)).toBe(1008);
    expect(answerableCloseCode(1009)).toBe(1009);
    expect(answerableCloseCode(3000)).toBe(3000);
    expect(answerableCloseCode(4401)).toBe(4401);
    expect(answerableCloseCode(4999)).toBe(4999);
  });

  it("maps codes outside 1000-4999 to 1000", () => {
    for (const code of [0, 1, 999, 5000, 65535, -1])
      expect(answerableCloseCode(code), String(code)).toBe(1000);
  });

  it("returns only codes that WebSocket.close accepts, for every code a peer could report", () => {
    // The runtime is the judge: answering the close with a code it refuses throws, and the
    // close then goes unanswered (STYLE rule 5).
    const refused: number[] = [];
    for (let code = 0; code <= 5000; code++) {
      const answer = answerableCloseCode(code);
      const { 0: a, 1: b } = new WebSocketPair();
      a.accept();
      b.accept();
      try {
        a.close(answer, "bye");
      } catch {
        refused.push(code);
      }
    }
    expect(refused, "peer codes whose answer WebSocket.close refuses").toEqual([]);
  });
});

describe("exceedsBytes", () => {
  const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;

  it("measures ASCII exactly at the boundary", () => {
    expect(exceedsBytes("a".repeat(10), 10)).toBe(false);
    expect(exceedsBytes("a".repeat(11), 10)).toBe(true);
    expect(exceedsBytes("", 0)).toBe(false);
    expect(exceedsBytes("a", 0)).toBe(true);
  });

  it("counts 2-byte characters as two bytes", () => {
    const s = "é".repeat(5);
    expect(utf8(s)).toBe(10);
    expect(exceedsBytes(s, 10)).toBe(false);
    expect(exceedsBytes(s, 9)).toBe(true);
  });

  it("counts 3-byte characters as three bytes", () => {
    const s = "€".repeat(4);
    expect(utf8(s)).toBe(12);
    expect(exceedsBytes(s, 12)).toBe(false);
    expect(exceedsBytes(s, 11)).toBe(true);
  });

  it("counts a 4-byte character (a surrogate pair) as four bytes", () => {
    const s = "😀".repeat(3);
    expect(utf8(s)).toBe(12);
    expect(exceedsBytes(s, 12)).toBe(false);
    expect(exceedsBytes(s, 11)).toBe(true);
  });

  it("decides a 64 KiB frame with one multi-byte character at the last byte", () => {
    expect(exceedsBytes("a".repeat(65534) + "é", 65536)).toBe(false);
    expect(exceedsBytes("a".repeat(65535) + "é", 65536)).toBe(true);
    expect(exceedsBytes("a".repeat(65532) + "😀", 65536)).toBe(false);
    expect(exceedsBytes("a".repeat(65533) + "😀", 65536)).toBe(true);
  });

  it("agrees with TextEncoder one byte either side of the size, for mixed text", () => {
    const samples = [
      "a",
      "é",
      "€",
      "😀",
      "a€😀é",
      "\ud800",
      "x".repeat(50) + "😀".repeat(20) + "€".repeat(7),
    ];
    for (const s of samples) {
      const bytes = utf8(s);
      for (const max of [bytes - 1, bytes, bytes + 1]) {
        expect(exceedsBytes(s, max), `${JSON.stringify(s)} max ${max}`).toBe(bytes > max);
      }
    }
  });
});

describe("parseClientFrame", () => {
  const parse = (frame: unknown) =>
    parseClientFrame(typeof frame === "string" ? frame : JSON.stringify(frame));

  /** Asserts a refusal with exactly this code and echoed id (or none). */
  function expectRefused(text: string, code: string, id?: string) {
    const result = parseClientFrame(text);
    expect(result.ok, text).toBe(false);
    if (result.ok) return;
    expect(result.error.type).toBe("error");
    expect(result.error.code, text).toBe(code);
    expect(typeof result.error.message).toBe("string");
    expect(result.error.message.length).toBeGreaterThan(0);
    if (id === undefined) expect("id" in result.error, `${text} must not echo an id`).toBe(false);
    else expect(result.error.id, text).toBe(id);
  }

  describe("message", () => {
    it("accepts a message with data and id", () => {
      expect(parse({ type: "message", data: { text: "hi" }, id: "c-17" })).toEqual({
        ok: true,
        frame: { type: "message", data: { text: "hi" }, id: "c-17" },
      });
    });

    it("accepts a message without id and leaves id out", () => {
      const result = parse({ type: "message", data: "hi" });
      expect(result).toEqual({ ok: true, frame: { type: "message", data: "hi" } });
      expect(result.ok && "id" in result.frame).toBe(false);
    });

    it("accepts any JSON value as data, null included", () => {
      for (const data of [null, 0, false, "", [], {}, [1, "two"], { nested: { deep: [null] } }]) {
        expect(parse({ type: "message", data }), JSON.stringify(data)).toEqual({
          ok: true,
          frame: { type: "message", data },
        });
      }
    });

    it("refuses a message without data, echoing the id", () => {
      expectRefused(JSON.stringify({ type: "message", id: "c-1" }), "invalid_frame", "c-1");
      expectRefused(JSON.stringify({ type: "message" }), "invalid_frame");
    });

    it("ignores extra fields", () => {
      expect(
        parse({ type: "message", data: 1, id: "c-2", seq: 99, from: { id: "admin" } }),
      ).toEqual({ ok: true, frame: { type: "message", data: 1, id: "c-2" } });
    });

    it('keeps a valid "to" (a desk agent\'s addressee) and refuses an invalid one', () => {
      expect(parse({ type: "message", data: 1, to: "u2" })).toEqual({
        ok: true,
        frame: { type: "message", data: 1, to: "u2" },
      });
      expect(parse({ type: "message", data: 1, to: "no spaces", id: "c-3" })).toMatchObject({
        ok: false,
        error: { code: "invalid_frame", id: "c-3" },
      });
    });
  });

  describe("direct", () => {
    it("accepts a direct frame to a valid user id", () => {
      expect(parse({ type: "direct", to: "u2", data: { text: "psst" }, id: "c-18" })).toEqual({
        ok: true,
        frame: { type: "direct", to: "u2", data: { text: "psst" }, id: "c-18" },
      });
      expect(parse({ type: "direct", to: "u".repeat(64), data: null })).toEqual({
        ok: true,
        frame: { type: "direct", to: "u".repeat(64), data: null },
      });
    });

    it("refuses a missing, non-string or invalid to, echoing the id", () => {
      for (const to of [undefined, 5, null, "", "u".repeat(65), "a b", "u2\n", ["u2"]]) {
        expectRefused(
          JSON.stringify({ type: "direct", to, data: 1, id: "c-3" }),
          "invalid_frame",
          "c-3",
        );
      }
    });

    it("refuses a direct frame without data", () => {
      expectRefused(
        JSON.stringify({ type: "direct", to: "u2", id: "c-4" }),
        "invalid_frame",
        "c-4",
      );
    });

    it("ignores extra fields", () => {
      expect(parse({ type: "direct", to: "u2", data: 1, room: "elsewhere", ts: 1 })).toEqual({
        ok: true,
        frame: { type: "direct", to: "u2", data: 1 },
      });
    });
  });

  describe("history", () => {
    it("defaults limit to 50 and leaves before out", () => {
      expect(DEFAULT_HISTORY_PAGE).toBe(50);
      const result = parse({ type: "history" });
      expect(result).toEqual({ ok: true, frame: { type: "history", limit: 50 } });
      expect(result.ok && "before" in result.frame).toBe(false);
    });

    it("passes before, limit and id through", () => {
      expect(parse({ type: "history", before: 42, limit: 10, id: "h-1" })).toEqual({
        ok: true,
        frame: { type: "history", before: 42, limit: 10, id: "h-1" },
      });
    });

    it("accepts limit 1 and 100, reads 101 and above as 100, refuses 0", () => {
      expect(MAX_HISTORY_PAGE).toBe(100);
      expect(parse({ type: "history", limit: 1 })).toEqual({
        ok: true,
        frame: { type: "history", limit: 1 },
      });
      expect(parse({ type: "history", limit: 100 })).toEqual({
        ok: true,
        frame: { type: "history", limit: 100 },
      });
      expectRefused(
        JSON.stringify({ type: "history", limit: 0, id: "h-2" }),
        "invalid_frame",
        "h-2",
      );
      for (const limit of [101, 5000]) {
        expect(parse({ type: "history", limit, id: "h-3" })).toEqual({
          ok: true,
          frame: { type: "history", limit: 100, id: "h-3" },
        });
      }
    });

    it("refuses a limit that is not an integer", () => {
      for (const limit of [1.5, "50", null, -5, true, [10]]) {
        expectRefused(JSON.stringify({ type: "history", limit }), "invalid_frame");
      }
    });

    it("refuses a before that is not a positive integer", () => {
      for (const before of [0, -1, 1.5, "42", null, 2 ** 53, { seq: 1 }]) {
        expectRefused(
          JSON.stringify({ type: "history", before, id: "h-4" }),
          "invalid_frame",
          "h-4",
        );
      }
      expect(parse({ type: "history", before: 1 })).toEqual({
        ok: true,
        frame: { type: "history", before: 1, limit: 50 },
      });
    });

    it("ignores extra fields", () => {
      expect(parse({ type: "history", before: 3, data: "x", to: "u2" })).toEqual({
        ok: true,
        frame: { type: "history", before: 3, limit: 50 },
      });
    });
  });

  describe("ids", () => {
    it("accepts ids of 1 and 64 characters", () => {
      expect(parse({ type: "message", data: 1, id: "a" })).toEqual({
        ok: true,
        frame: { type: "message", data: 1, id: "a" },
      });
      const id64 = "i".repeat(64);
      expect(parse({ type: "message", data: 1, id: id64 })).toEqual({
        ok: true,
        frame: { type: "message", data: 1, id: id64 },
      });
    });

    it("refuses an empty id and a 65-character id, echoing what it read", () => {
      expectRefused(JSON.stringify({ type: "message", data: 1, id: "" }), "invalid_frame", "");
      const id65 = "i".repeat(65);
      expectRefused(JSON.stringify({ type: "message", data: 1, id: id65 }), "invalid_frame", id65);
    });

    it("refuses an id that is not a string, without echoing it", () => {
      for (const id of [17, null, true, ["c-1"], { id: "c-1" }]) {
        expectRefused(JSON.stringify({ type: "message", data: 1, id }), "invalid_frame");
      }
    });
  });

  describe("malformed frames", () => {
    it("answers bad_json for text that is not JSON", () => {
      for (const text of [
        "",
        "{",
        "hello",
        "{'type':'message'}",
        '{"type":"message",}',
        "ping pong",
      ]) {
        expectRefused(text, "bad_json");
      }
    });

    it("answers invalid_frame for JSON that is not an object", () => {
      for (const text of [
        "[]",
        '[{"type":"message","data":1}]',
        "42",
        "null",
        '"message"',
        "true",
      ]) {
        expectRefused(text, "invalid_frame");
      }
    });

    it("answers invalid_frame for a missing or non-string type, echoing the id", () => {
      expectRefused(JSON.stringify({ data: 1, id: "c-5" }), "invalid_frame", "c-5");
      expectRefused(JSON.stringify({ type: 7, data: 1, id: "c-6" }), "invalid_frame", "c-6");
      expectRefused(JSON.stringify({ type: null, data: 1 }), "invalid_frame");
      expectRefused(JSON.stringify({ type: ["message"], data: 1 }), "invalid_frame");
    });

    it("answers unknown_type for a type it does not know, echoing the id", () => {
      expectRefused(JSON.stringify({ type: "shout", data: 1, id: "c-7" }), "unknown_type", "c-7");
      expectRefused(JSON.stringify({ type: "welcome" }), "unknown_type");
      expectRefused(JSON.stringify({ type: "ping" }), "unknown_type");
      expectRefused(JSON.stringify({ type: "Message", data: 1 }), "unknown_type");
    });

    it("keeps the error message short for a huge unknown type", () => {
      const result = parse({ type: "x".repeat(10_000) });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.message.length).toBeLessThan(100);
    });
  });
});

/**
 * src/protocol/webhook.ts on its own: Standard Webhooks signing and verification, checked against an HMAC
 * computed independently here with WebCrypto, the reference vector of the spec's libraries, and
 * the official `standardwebhooks` package in both directions.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  WEBHOOK_ID,
  WEBHOOK_SIGNATURE,
  WEBHOOK_TIMESTAMP,
  generateSecret,
  secretKey,
  signWebhook,
  verifyWebhook,
} from "../src/protocol/webhook";

const NOW = 1_764_000_000;
const BODY = '{"room":"orders","event":"order.paid","data":{"order":7}}';
const NO_MATCH = { ok: false, reason: "no signature matches" };
const MISSING = {
  ok: false,
  reason: "missing header: webhook-id, webhook-timestamp and webhook-signature are required",
};
const STALE = { ok: false, reason: "webhook-timestamp is more than 300 s from now" };
const NOT_SECONDS = { ok: false, reason: "webhook-timestamp must be unix seconds" };

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** The spec's signature, computed here without src/: HMAC-SHA256 over `${id}.${ts}.${body}`. */
async function independentSignature(
  secret: string,
  id: string,
  ts: number | string,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    unb64(secret.replace(/^whsec_/, "")),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${id}.${ts}.${body}`),
  );
  return b64(new Uint8Array(mac));
}

const headers = (id: string | null, ts: string | null, sig: string | null) => {
  const h = new Headers();
  if (id !== null) h.set(WEBHOOK_ID, id);
  if (ts !== null) h.set(WEBHOOK_TIMESTAMP, ts);
  if (sig !== null) h.set(WEBHOOK_SIGNATURE, sig);
  return h;
};

describe("signWebhook / verifyWebhook", () => {
  it("verifies what it signed, returning the id and the timestamp", async () => {
    const secret = generateSecret();
    const signed = await signWebhook(secret, "msg_1", BODY, NOW);
    expect(Object.keys(signed).sort()).toEqual([WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP]);
    expect(signed[WEBHOOK_ID]).toBe("msg_1");
    expect(signed[WEBHOOK_TIMESTAMP]).toBe(String(NOW));
    expect(signed[WEBHOOK_SIGNATURE]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(await verifyWebhook(secret, new Headers(signed), BODY, NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: NOW,
    });
  });

  it("signs exactly HMAC-SHA256(key, `${id}.${ts}.${body}`) with the base64-decoded key", async () => {
    const secret = generateSecret();
    const body = '{"text":"héllo ✓ 群聊"}';
    const expected = await independentSignature(secret, "msg_vec", NOW, body);
    const signed = await signWebhook(secret, "msg_vec", body, NOW);
    expect(signed[WEBHOOK_SIGNATURE]).toBe(`v1,${expected}`);
    // Bytes and string bodies sign the same UTF-8.
    const fromBytes = await signWebhook(secret, "msg_vec", new TextEncoder().encode(body), NOW);
    expect(fromBytes[WEBHOOK_SIGNATURE]).toBe(`v1,${expected}`);
    expect(
      await verifyWebhook(secret, headers("msg_vec", String(NOW), `v1,${expected}`), body, NOW),
    ).toEqual({
      ok: true,
      id: "msg_vec",
      timestamp: NOW,
    });
  });

  it("matches the reference vector of the Standard Webhooks libraries", async () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const ts = 1614265330;
    const body = '{"test": 2432232314}';
    const sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    expect(`v1,${await independentSignature(secret, id, ts, body)}`).toBe(sig);
    expect((await signWebhook(secret, id, body, ts))[WEBHOOK_SIGNATURE]).toBe(sig);
    expect(await verifyWebhook(secret, headers(id, String(ts), sig), body, ts)).toEqual({
      ok: true,
      id,
      timestamp: ts,
    });
  });

  it.each([
    ["webhook-id", [null, String(NOW), "SIG"]],
    ["webhook-timestamp", ["msg_1", null, "SIG"]],
    ["webhook-signature", ["msg_1", String(NOW), null]],
  ] as const)("refuses a request without %s", async (_name, [id, ts, sig]) => {
    const secret = generateSecret();
    const good = (await signWebhook(secret, "msg_1", BODY, NOW))[WEBHOOK_SIGNATURE]!;
    const h = headers(id, ts, sig === "SIG" ? good : sig);
    expect(await verifyWebhook(secret, h, BODY, NOW)).toEqual(MISSING);
  });

  it("refuses empty header values as missing", async () => {
    const secret = generateSecret();
    const good = (await signWebhook(secret, "msg_1", BODY, NOW))[WEBHOOK_SIGNATURE]!;
    expect(await verifyWebhook(secret, headers("", String(NOW), good), BODY, NOW)).toEqual(MISSING);
    expect(await verifyWebhook(secret, headers("msg_1", "", good), BODY, NOW)).toEqual(MISSING);
    expect(await verifyWebhook(secret, headers("msg_1", String(NOW), ""), BODY, NOW)).toEqual(
      MISSING,
    );
  });

  it("refuses a signature made with another secret", async () => {
    const signed = await signWebhook(generateSecret(), "msg_1", BODY, NOW);
    expect(await verifyWebhook(generateSecret(), new Headers(signed), BODY, NOW)).toEqual(NO_MATCH);
  });

  it("refuses a body with one byte changed", async () => {
    const secret = generateSecret();
    const bytes = new TextEncoder().encode(BODY);
    const signed = await signWebhook(secret, "msg_1", bytes, NOW);
    const tampered = bytes.slice();
    tampered[20] = tampered[20]! ^ 0x01;
    expect(await verifyWebhook(secret, new Headers(signed), tampered, NOW)).toEqual(NO_MATCH);
    expect(await verifyWebhook(secret, new Headers(signed), bytes, NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: NOW,
    });
  });

  it("refuses a changed id or timestamp under the same signature", async () => {
    const secret = generateSecret();
    const signed = await signWebhook(secret, "msg_1", BODY, NOW);
    const sig = signed[WEBHOOK_SIGNATURE]!;
    expect(await verifyWebhook(secret, headers("msg_2", String(NOW), sig), BODY, NOW)).toEqual(
      NO_MATCH,
    );
    expect(await verifyWebhook(secret, headers("msg_1", String(NOW + 1), sig), BODY, NOW)).toEqual(
      NO_MATCH,
    );
  });

  it("accepts a timestamp exactly 300 s old or ahead and refuses 301 s either way", async () => {
    const secret = generateSecret();
    const at = async (ts: number) =>
      verifyWebhook(secret, new Headers(await signWebhook(secret, "m", BODY, ts)), BODY, NOW);
    expect(await at(NOW - 300)).toEqual({ ok: true, id: "m", timestamp: NOW - 300 });
    expect(await at(NOW + 300)).toEqual({ ok: true, id: "m", timestamp: NOW + 300 });
    expect(await at(NOW - 301)).toEqual(STALE);
    expect(await at(NOW + 301)).toEqual(STALE);
  });

  it.each([
    "abc",
    "1764000000.5",
    "-1764000000",
    "1e9",
    "0x6920d000",
    "1764000000 1",
    "1764000000abc",
  ])("refuses the non-numeric timestamp %j", async (ts) => {
    const secret = generateSecret();
    // Signed over the very header text, so only the format check can refuse it.
    const sig = `v1,${await independentSignature(secret, "msg_1", ts, BODY)}`;
    expect(await verifyWebhook(secret, headers("msg_1", ts, sig), BODY, NOW)).toEqual(NOT_SECONDS);
  });

  it("accepts a header of several signatures when only the second matches (key rotation)", async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const oldSig = (await signWebhook(oldSecret, "msg_1", BODY, NOW))[WEBHOOK_SIGNATURE]!;
    const newSig = (await signWebhook(newSecret, "msg_1", BODY, NOW))[WEBHOOK_SIGNATURE]!;
    const h = headers("msg_1", String(NOW), `${oldSig} ${newSig}`);
    expect(await verifyWebhook(newSecret, h, BODY, NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: NOW,
    });
    expect(await verifyWebhook(oldSecret, h, BODY, NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: NOW,
    });
    expect(await verifyWebhook(generateSecret(), h, BODY, NOW)).toEqual(NO_MATCH);
  });

  it("ignores v1a and garbage entries and still finds the v1 signature", async () => {
    const secret = generateSecret();
    const raw = await independentSignature(secret, "msg_1", NOW, BODY);
    const h = headers("msg_1", String(NOW), `v1a,${raw} garbage , v2,${raw} v1,${raw}`);
    expect(await verifyWebhook(secret, h, BODY, NOW)).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: NOW,
    });
  });

  it("does not accept the right bytes under another scheme or without a scheme", async () => {
    const secret = generateSecret();
    const raw = await independentSignature(secret, "msg_1", NOW, BODY);
    for (const sig of [`v1a,${raw}`, `V1,${raw}`, raw, `v2,${raw}`, `,${raw}`]) {
      expect(await verifyWebhook(secret, headers("msg_1", String(NOW), sig), BODY, NOW)).toEqual(
        NO_MATCH,
      );
    }
  });

  it("refuses a malformed base64 signature without throwing", async () => {
    const secret = generateSecret();
    for (const sig of [
      "v1,!!!not-base64!!!",
      "v1,",
      "v1,a",
      "v1,%%%% v1,@@",
      "v1,====",
      "v1,ZZZZ",
    ]) {
      await expect(
        verifyWebhook(secret, headers("msg_1", String(NOW), sig), BODY, NOW),
      ).resolves.toEqual(NO_MATCH);
    }
  });

  it("refuses a signature that is a prefix of the right one", async () => {
    const secret = generateSecret();
    const full = unb64(await independentSignature(secret, "msg_1", NOW, BODY));
    const short = `v1,${b64(full.slice(0, 30))}`;
    expect(await verifyWebhook(secret, headers("msg_1", String(NOW), short), BODY, NOW)).toEqual(
      NO_MATCH,
    );
  });
});

describe("secretKey", () => {
  it("decodes the base64 key with and without the whsec_ prefix", () => {
    const key = crypto.getRandomValues(new Uint8Array(24));
    expect(secretKey(`whsec_${b64(key)}`)).toEqual(key);
    expect(secretKey(b64(key))).toEqual(key);
  });

  it("makes secrets of 24 random bytes in the whsec_ format", () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(secretKey(a)).toHaveLength(24);
    expect(a).not.toBe(b);
  });

  it.each(["", "whsec_", "whsec_!!!", "whsec_a", "whsec_%%%%"])(
    "throws a clear error for %j",
    (secret) => {
      expect(() => secretKey(secret)).toThrow("the webhook secret must be whsec_<base64>");
    },
  );

  it("makes signing and verifying with an invalid secret fail loudly", async () => {
    await expect(signWebhook("whsec_", "msg_1", BODY, NOW)).rejects.toThrow(
      "the webhook secret must be whsec_<base64>",
    );
    const good = await signWebhook(generateSecret(), "msg_1", BODY, NOW);
    await expect(verifyWebhook("whsec_!!", new Headers(good), BODY, NOW)).rejects.toThrow(
      "the webhook secret must be whsec_<base64>",
    );
  });
});

describe("interoperability with the official standardwebhooks package", () => {
  const nowSec = () => Math.floor(Date.now() / 1000);

  it("verifies signatures made by standardwebhooks", async () => {
    const secret = generateSecret();
    const wh = new Webhook(secret);
    const body = '{"room":"r","event":"x","data":{"text":"héllo ✓"}}';
    const ts = nowSec();
    const sig = wh.sign("msg_theirs", new Date(ts * 1000), body);
    expect(sig).toBe(`v1,${await independentSignature(secret, "msg_theirs", ts, body)}`);
    expect(await verifyWebhook(secret, headers("msg_theirs", String(ts), sig), body, ts)).toEqual({
      ok: true,
      id: "msg_theirs",
      timestamp: ts,
    });
    // Their signer with our secret's bare base64 (no prefix) is the same key.
    const bare = new Webhook(secret.slice("whsec_".length)).sign(
      "msg_theirs",
      new Date(ts * 1000),
      body,
    );
    expect(bare).toBe(sig);
  });

  it("produces signatures standardwebhooks verifies", async () => {
    const secret = generateSecret();
    const body = '{"room":"r","event":"x","data":{"text":"héllo ✓"}}';
    const signed = await signWebhook(secret, "msg_ours", body);
    expect(new Webhook(secret).verify(body, signed)).toEqual({
      room: "r",
      event: "x",
      data: { text: "héllo ✓" },
    });
  });

  it("agrees with standardwebhooks on refusing another secret's signature", async () => {
    const signed = await signWebhook(generateSecret(), "msg_ours", BODY);
    expect(() => new Webhook(generateSecret()).verify(BODY, signed)).toThrow(
      "No matching signature found",
    );
  });
});

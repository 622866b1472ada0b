/**
 * examples/django end to end: the real Django project (Debian's python3-django, SQLite) run with
 * `manage.py runserver` next to `wrangler dev`, each pointed at the other, sharing HOOK_SECRET,
 * JOIN_SECRET and PUSH_SECRET, and headless Chromium signing in with Django's own login form.
 *
 * The page is Django's, on its own port; the rooms server is another port of the same host. A
 * browser sends a cookie to every port of the host that set it, so the session cookie Django
 * issued at sign-in goes with the page's WebSocket upgrade to the rooms server, which hands it
 * to Django's connect hook, as it would with Django on example.com, rooms on rooms.example.com
 * and SESSION_COOKIE_DOMAIN=.example.com (examples/django/README.md). Nothing here copies a
 * cookie into the browser by hand.
 *
 * What it proves, reading Django's database (the example's SQLite file) for what reached it:
 * the signed-in browser joins without a token as its Django user; a chat line is stored once
 * though Django answers 500 to its first delivery (stored, then "failed": the retry carries the
 * same event ids); member.left and room.vacated come after LEAVE_GRACE_SEC and not before; a
 * banned word is refused by the publish hook and never reaches the other member; a Django view
 * pushes to one user; the token view's JWT opens a private room; unsigned calls are refused.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopProcessGroup } from "../../scripts/processes.ts";
import { generateSecret, signWebhook } from "../../src/protocol/webhook.ts";
import { launchBrowser, openPage, type ChatPage } from "./browser";
import { generateJoinSecret, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const PYTHON = "/usr/bin/python3";
const DJANGO_DIR = resolve(import.meta.dirname, "../../examples/django");
const HAS_DJANGO = spawnSync(PYTHON, ["-c", "import django"]).status === 0;
const WHY_SKIPPED = `${PYTHON} cannot import django: apt-get install -y python3-django (.ci/run does)`;
if (!HAS_DJANGO) console.warn(`test/e2e/django.e2e.test.ts is skipped: ${WHY_SKIPPED}`);

const HOOK_SECRET = generateSecret();
const PUSH_SECRET = generateSecret();
const JOIN_SECRET = generateJoinSecret();
const LEAVE_GRACE_SEC = 3;
const BANNED = "spam";
const WAIT = { timeout: 15_000 };
const PASSWORDS = { ann: "ann-password", bo: "bo-password" } as const; // manage.py demo_users

const run = promisify(execFile);
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

let rooms: DevServer;
let browser: Browser;
let django: ChildProcess | undefined;
let djangoOut = "";
let djangoUrl: string;
let dataDir: string;
let users: Record<keyof typeof PASSWORDS, string>;
let pages: ChatPage[] = [];
const sockets: WsClient[] = [];

/** Rows of the example's SQLite database, read the way any other process would. */
async function sql<T = Record<string, unknown>>(
  query: string,
  ...params: (string | number)[]
): Promise<T[]> {
  const script = [
    "import json, sqlite3, sys",
    "db = sqlite3.connect(sys.argv[1], timeout=5)",
    "db.row_factory = sqlite3.Row",
    "print(json.dumps([dict(r) for r in db.execute(sys.argv[2], json.loads(sys.argv[3]))]))",
  ].join("\n");
  const db = join(dataDir, "db.sqlite3");
  const { stdout } = await run(PYTHON, ["-c", script, db, query, JSON.stringify(params)]);
  return JSON.parse(stdout) as T[];
}

/** Polls `probe` until it returns a value; Django's database has no event to await. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  hint: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${hint()}\n--- Django said:\n${djangoOut.slice(-3000)}` +
          `\n--- wrangler dev said:\n${rooms?.output().slice(-3000)}`,
      );
    }
    await sleep(200);
  }
}

async function startDjango(port: number, roomsUrl: string): Promise<void> {
  const env = {
    ...process.env,
    DJANGO_DB: join(dataDir, "db.sqlite3"),
    DJANGO_SECRET_KEY: generateSecret(),
    ROOMS_URL: roomsUrl,
    HOOK_SECRET,
    JOIN_SECRET,
    PUSH_SECRET,
    BANNED_WORDS: BANNED,
    HOOKS_FAIL_ONCE_ROOMS: "django-flaky-*",
    PYTHONUNBUFFERED: "1",
  };
  const opts = { cwd: DJANGO_DIR, env };
  await run(PYTHON, ["manage.py", "migrate", "--noinput", "-v", "0"], opts);
  await run(PYTHON, ["manage.py", "demo_users"], opts);
  django = spawn(PYTHON, ["manage.py", "runserver", `127.0.0.1:${port}`, "--noreload"], {
    ...opts,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, for stopProcessGroup
  });
  django.stdout!.on("data", (d) => (djangoOut += d));
  django.stderr!.on("data", (d) => (djangoOut += d));
  await until(
    "runserver to answer",
    async () => {
      if (django!.exitCode !== null) throw new Error(`runserver exited:\n${djangoOut}`);
      const res = await fetch(`${djangoUrl}/login/`).catch(() => null);
      return res?.status === 200 ? true : undefined;
    },
    30_000,
  );
}

/** Opens `room`'s page on the Django site, signs in through Django's login form on the way. */
async function signIn(username: keyof typeof PASSWORDS, room: string): Promise<ChatPage> {
  const chat = await openPage(browser, `${djangoUrl}/rooms/${room}/`);
  pages.push(chat);
  expect(new URL(chat.page.url()).pathname).toBe("/login/"); // login_required sent us here
  await chat.page.fill("#id_username", username);
  await chat.page.fill("#id_password", PASSWORDS[username]);
  await Promise.all([
    chat.page.waitForURL(`${djangoUrl}/rooms/${room}/`),
    chat.page.click("#sign-in"),
  ]);
  await chat.page.locator('#status[data-state="open"]').waitFor(WAIT);
  return chat;
}

async function say(chat: ChatPage, text: string): Promise<void> {
  await chat.page.fill("#text", text);
  await chat.page.press("#text", "Enter");
}

const messagesOn = (chat: ChatPage) => chat.page.locator("#messages li").allTextContents();

describe.skipIf(!HAS_DJANGO)(
  `examples/django next to wrangler dev${HAS_DJANGO ? "" : ` (skipped: ${WHY_SKIPPED})`}`,
  () => {
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), "rooms-django-"));
      const [djangoPort, roomsPort] = [await freePort(), await freePort()];
      djangoUrl = `http://127.0.0.1:${djangoPort}`;
      const roomsUrl = `http://127.0.0.1:${roomsPort}`;
      [, rooms, browser] = await Promise.all([
        startDjango(djangoPort, roomsUrl),
        startServer({
          port: roomsPort,
          vars: {
            HOOK_SECRET,
            JOIN_SECRET,
            PUSH_SECRET,
            HOOK_URL: `${djangoUrl}/hooks/events`,
            AUTH_HOOK_URL: `${djangoUrl}/hooks/connect`,
            PUBLISH_HOOK_URL: `${djangoUrl}/hooks/publish`,
            PUBLISH_HOOK_ROOMS: "django-*",
            HOOK_MESSAGES: "django-*",
            LEAVE_GRACE_SEC: String(LEAVE_GRACE_SEC),
            // The page is Django's: another origin than the rooms server's.
            ALLOWED_ORIGINS: djangoUrl,
          },
        }),
        launchBrowser(),
      ]);
      const rows = await sql<{ id: number; username: string }>(
        "SELECT id, username FROM auth_user",
      );
      users = Object.fromEntries(rows.map((r) => [r.username, String(r.id)])) as typeof users;
    });

    afterAll(async () => {
      for (const ws of sockets) ws.ws.close();
      await browser?.close();
      await rooms?.stop();
      if (django) await stopProcessGroup(django);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    afterEach(async () => {
      const opened = pages;
      pages = [];
      await Promise.all(opened.map((p) => p.close()));
      expect(opened.flatMap((p) => p.errors)).toEqual([]);
    });

    it("joins without a token as the signed-in Django user, through the connect hook", async () => {
      const room = unique("django-lobby");
      const ann = await signIn("ann", room);
      expect(await ann.page.getAttribute("#me", "data-id")).toBe(users.ann);
      expect(await ann.page.textContent("#me")).toBe(`Ann (${users.ann})`);
      expect(await ann.page.locator("#problem").isHidden()).toBe(true);
      // One socket, to the rooms server, with no token: the identity came from the cookie.
      expect(ann.sockets).toHaveLength(1);
      const socket = new URL(ann.sockets[0]!);
      expect(socket.origin).toBe(rooms.wsUrl);
      expect(socket.searchParams.has("token")).toBe(false);
      // The cookie the browser sends to the rooms server's host is the one Django set.
      const sent = await ann.context.cookies(rooms.url);
      expect(sent.map((c) => c.name)).toContain("sessionid");
      // And Django hears of the join (events out, member.joined) with its own user id.
      const joined = await until("member.joined in Django's database", async () => {
        const rows = await sql(
          "SELECT member_id, member_name, count FROM chat_roomevent WHERE room = ? AND type = 'member.joined'",
          room,
        );
        return rows.length > 0 ? rows : undefined;
      });
      expect(joined).toEqual([{ member_id: users.ann, member_name: "Ann", count: 1 }]);
    });

    it("lets a visitor without a session in as a guest, and refuses it a private room with Django's message", async () => {
      const guest = await WsClient.connect(
        `${rooms.wsUrl}/room/${unique("django-lobby")}?name=Eve`,
      );
      sockets.push(guest);
      expect((await guest.expect("welcome")).self.id).toMatch(/^guest-/);
      const refused = await WsClient.connect(`${rooms.wsUrl}/room/${unique("private-team")}`);
      sockets.push(refused);
      expect(await refused.expect("error")).toMatchObject({
        code: "unauthorized",
        message: "sign in first: this place is for members",
      });
      expect((await refused.closed).code).toBe(4401);
    });

    it("mints a join token (JWT, HS256, JOIN_SECRET) that opens a private room", async () => {
      const room = unique("private-team");
      const ann = await signIn("ann", unique("django-lobby"));
      const minted = await ann.page.evaluate(
        async (r) => (await fetch(`/token/?room=${r}`)).json(),
        room,
      );
      expect(minted).toMatchObject({ room, expires_in: 600 });
      const ws = await WsClient.connect(`${rooms.wsUrl}/room/${room}?token=${minted.token}`);
      sockets.push(ws);
      expect((await ws.expect("welcome")).self).toMatchObject({ id: users.ann, name: "Ann" });
      // Not signed in: no token.
      const anonymous = await fetch(`${djangoUrl}/token/?room=${room}`);
      expect(anonymous.status).toBe(401);
    });

    it("stores a message in Django's database once, though Django answers 500 to its first delivery", async () => {
      const room = unique("django-flaky"); // HOOKS_FAIL_ONCE_ROOMS: stored, then answered 500
      const ann = await signIn("ann", room);
      await say(ann, "saved once");
      await ann.page.locator("#messages li", { hasText: "saved once" }).waitFor(WAIT);

      type Delivery = { webhook_id: string; status: number; received_at: string };
      const deliveries = await until(
        "the delivery carrying the message, answered 500 and then sent again",
        async () => {
          const rows = await sql<Delivery>(
            "SELECT webhook_id, status, received_at FROM chat_delivery WHERE room = ? AND messages > 0 ORDER BY id",
            room,
          );
          return rows.length >= 2 ? rows : undefined;
        },
        30_000,
        // Local queues live in wrangler dev's memory: a reload (a file under src/ or public/
        // changed while the test ran) drops a retry that was waiting. The page reconnects then.
        () =>
          ann.sockets.length > 1
            ? ` (the page connected ${ann.sockets.length} times: wrangler dev reloaded, and` +
              " its in-memory local queue lost the waiting retry; was a file under src/ or" +
              " public/ changed during the run?)"
            : "",
      );
      expect(deliveries.map((d) => d.status)).toEqual([500, 200]);
      // The same delivery (webhook-id) again, within the first retry's 10 s (and some slack).
      expect(deliveries[1]!.webhook_id).toBe(deliveries[0]!.webhook_id);
      const at = (d: Delivery) => Date.parse(d.received_at.replace(" ", "T") + "Z");
      expect(at(deliveries[1]!) - at(deliveries[0]!)).toBeLessThan(15_000);

      // Both deliveries carried the message; its event id is stored once.
      const stored = await sql(
        "SELECT seq, kind, sender_id, sender_name, text FROM chat_message WHERE room = ?",
        room,
      );
      expect(stored).toEqual([
        { seq: 1, kind: "message", sender_id: users.ann, sender_name: "Ann", text: "saved once" },
      ]);
    });

    it("records member.left and room.vacated after the grace period, not before", async () => {
      const room = unique("django-leave");
      const ann = await signIn("ann", room);
      await until("member.joined", async () => {
        const rows = await sql(
          "SELECT 1 FROM chat_roomevent WHERE room = ? AND type = 'member.joined'",
          room,
        );
        return rows.length > 0 ? rows : undefined;
      });
      const leftAt = Date.now();
      await ann.close(); // the browser goes: its socket closes

      // Right after leaving, and halfway through the grace: Django has heard nothing yet.
      const leaves = () =>
        sql<{ type: string; member_id: string | null; count: number | null; ts: number }>(
          "SELECT type, member_id, count, ts FROM chat_roomevent WHERE room = ? AND type IN ('member.left', 'room.vacated') ORDER BY ts, type",
          room,
        );
      expect(await leaves()).toEqual([]);
      await sleep((LEAVE_GRACE_SEC * 1000) / 2);
      expect(await leaves()).toEqual([]);

      const after = await until("member.left and room.vacated", async () => {
        const rows = await leaves();
        return rows.length >= 2 ? rows : undefined;
      });
      expect(after.map(({ type, member_id, count }) => ({ type, member_id, count }))).toEqual([
        { type: "member.left", member_id: users.ann, count: 0 },
        { type: "room.vacated", member_id: null, count: null },
      ]);
      for (const e of after) expect(e.ts).toBeGreaterThanOrEqual(leftAt + LEAVE_GRACE_SEC * 1000);
    });

    it("refuses a banned word in the publish hook: the sender is told, the others never see it", async () => {
      const room = unique("django-chat");
      const [ann, bo] = await Promise.all([signIn("ann", room), signIn("bo", room)]);
      await ann.page.locator(`#members li[data-id="${users.bo}"]`).waitFor(WAIT);

      await say(ann, `cheap ${BANNED.toUpperCase()} here`);
      const problem = ann.page.locator('#problem[data-code="rejected"]');
      await problem.waitFor(WAIT);
      expect(await problem.textContent()).toBe(`rejected: “${BANNED}” is not allowed in this chat`);

      // Sent after it, stored after it: once Bo has this one, the refused one would be there.
      await say(ann, "just hello");
      await bo.page.locator("#messages li", { hasText: "just hello" }).waitFor(WAIT);
      expect(await messagesOn(bo)).toEqual(["Ann: just hello"]);
      expect(await messagesOn(ann)).toEqual(["Ann: just hello"]);

      const stored = await until("the accepted message in Django's database", async () => {
        const rows = await sql<{ text: string }>(
          "SELECT text FROM chat_message WHERE room = ?",
          room,
        );
        return rows.length > 0 ? rows : undefined;
      });
      expect(stored).toEqual([{ text: "just hello" }]);
    });

    it("pushes order.paid from a Django view to the one user who paid", async () => {
      const room = unique("django-shop");
      const [ann, bo] = await Promise.all([signIn("ann", room), signIn("bo", room)]);
      await ann.page.locator(`#members li[data-id="${users.bo}"]`).waitFor(WAIT);
      await ann.page.fill("#order", "7");
      await ann.page.click("#pay button");
      await ann.page.locator('#events li[data-event="order.paid"]').waitFor(WAIT);
      expect(await ann.page.locator("#events li").allTextContents()).toEqual([
        'order.paid {"order":7}',
      ]);
      // The view answered with push()'s result: one socket, Ann's.
      await ann.page.locator("#paid", { hasText: "results" }).waitFor(WAIT);
      expect(JSON.parse((await ann.page.textContent("#paid"))!)).toMatchObject({
        results: [{ room, delivered: 1, duplicate: false }],
      });
      // Bo is in the room and got nothing: `to` reached Ann's sockets only.
      await say(bo, "after the push");
      await bo.page.locator("#messages li", { hasText: "after the push" }).waitFor(WAIT);
      expect(await bo.page.locator("#events li").count()).toBe(0);
    });

    it("refuses hook calls HOOK_SECRET did not sign", async () => {
      const body = JSON.stringify({ events: [] });
      const forged = await signWebhook(generateSecret(), "msg_forged", body);
      for (const hook of ["connect", "publish", "events"]) {
        for (const headers of [{}, forged]) {
          const res = await fetch(`${djangoUrl}/hooks/${hook}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body,
          });
          expect(res.status, `${hook} ${JSON.stringify(headers)}`).toBe(401);
          expect(await res.json()).toMatchObject({ error: "bad_signature" });
        }
      }
    });
  },
);

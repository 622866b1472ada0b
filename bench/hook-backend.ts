/**
 * The backend of the publish-hook bench line (bench/publish-hook.ts): a Node http server on
 * 127.0.0.1 that answers every publish-hook call 200 `{}` ("accept": store it as it is), as
 * quickly as a real backend could. It checks each call's Standard Webhooks signature with
 * HOOK_SECRET (node:crypto's HMAC-SHA256 and timingSafeEqual, a few microseconds) and parses the
 * body, as any real backend must; a call that fails either is answered 401 or 400, which the room
 * turns into `hook_unavailable` and the bench into a failed run.
 *
 * `GET /stats` answers what it has done so far: calls, connections accepted, refusals, and the
 * time spent in its handlers (from the request's first event to the answer written).
 *
 * Run: HOOK_SECRET=whsec_… node bench/hook-backend.ts [port]   (prints "listening <port>")
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import {
  WEBHOOK_ID,
  WEBHOOK_SIGNATURE,
  WEBHOOK_TIMESTAMP,
  WEBHOOK_TOLERANCE_SEC,
  secretKey,
} from "../src/protocol/webhook.ts";

export interface BackendStats {
  /** Calls answered 200 (accepted). */
  calls: number;
  /** Calls refused: a bad signature or a body that is not a publish-hook question. */
  refused: number;
  /** TCP connections accepted: fewer than calls when the runtime keeps them alive. */
  connections: number;
  /** Wall time in the request handlers, summed, ms. */
  handlerMs: number;
  /**
   * Wall time from one answer to the next call, summed over the gaps under a second that no
   * `GET /stats` came between (`gaps` of them), ms. A room asks one call at a time, so this is the time a hooked message spends
   * outside this process: the way back, the room's work, the next call's way here.
   */
  betweenMs: number;
  gaps: number;
}

const secret = process.env.HOOK_SECRET;
if (secret === undefined) throw new Error("HOOK_SECRET is not set");
const key = secretKey(secret);
const stats: BackendStats = {
  calls: 0,
  refused: 0,
  connections: 0,
  handlerMs: 0,
  betweenMs: 0,
  gaps: 0,
};
/** When the last answer was written (hrtime, ns); 0 after a `GET /stats`, which starts a count. */
let answeredAt = 0n;

function signed(headers: Record<string, string | string[] | undefined>, body: Buffer): boolean {
  const id = headers[WEBHOOK_ID];
  const timestamp = headers[WEBHOOK_TIMESTAMP];
  const signatures = headers[WEBHOOK_SIGNATURE];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string")
    return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_SEC) return false;
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  return signatures.split(" ").some((s) => {
    if (!s.startsWith("v1,")) return false;
    const given = Buffer.from(s.slice(3), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const server = createServer((req, res) => {
  const t0 = process.hrtime.bigint();
  const done = (status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
    const t1 = process.hrtime.bigint();
    stats.handlerMs += Number(t1 - t0) / 1e6;
    const gapMs = Number(t0 - answeredAt) / 1e6;
    if (answeredAt !== 0n && gapMs >= 0 && gapMs < 1000) {
      stats.betweenMs += gapMs;
      stats.gaps++;
    }
    answeredAt = t1;
  };
  if (req.method === "GET" && req.url === "/stats") {
    // The bench asks before and after each burst: the first call after it has no gap to count.
    answeredAt = 0n;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!signed(req.headers, body)) {
      stats.refused++;
      return done(401, '{"message":"bad signature"}');
    }
    let asked: { room?: unknown; type?: unknown } | null = null;
    try {
      asked = JSON.parse(body.toString("utf8")) as { room?: unknown; type?: unknown };
    } catch {
      // not JSON: refused below
    }
    if (asked === null || typeof asked.room !== "string" || typeof asked.type !== "string") {
      stats.refused++;
      return done(400, '{"message":"not a publish-hook question"}');
    }
    stats.calls++;
    done(200, "{}");
  });
});
server.on("connection", () => stats.connections++);
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const addr = server.address();
  console.log(`listening ${typeof addr === "object" && addr !== null ? addr.port : "?"}`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});

/**
 * What every inbound WebSocket message goes through before an object acts on it, in order:
 * size (a frame over MAX_FRAME_BYTES closes the socket 1009), the keep-alive `ping`, the user's
 * rate bucket (charged before anything is parsed; sustained abuse closes 1008), binary frames,
 * then the one client-frame parser, or, for a raw socket, no parser: its text is a message's data
 * as it is. A pure decision: the object carries it out.
 */
import {
  CLOSE_POLICY,
  CLOSE_TOO_LARGE,
  errorFrame,
  exceedsBytes,
  parseClientFrame,
  peekId,
  type ClientFrame,
  type ClientFrameType,
  type ErrorFrame,
} from "../protocol";
import type { TokenBucket } from "./ratelimit";

export type Inbound =
  | { kind: "frame"; frame: ClientFrame }
  | { kind: "pong" }
  /** Answer `error`; close the socket with `close` when given. */
  | { kind: "refuse"; error: ErrorFrame; close?: { code: number; reason: string } };

export interface InboundRules {
  maxFrameBytes: number;
  ratePerSec: number;
  /** The client frame types the object accepts; others are `unknown_type`. */
  accepts: ReadonlySet<ClientFrameType>;
  /** A raw socket's frames: every text is a group message with that text as its data. */
  raw?: boolean;
}

export function readInbound(
  message: string | ArrayBuffer,
  bucket: TokenBucket,
  rules: InboundRules,
  now: number,
): Inbound {
  const max = rules.maxFrameBytes;
  if (typeof message === "string" ? exceedsBytes(message, max) : message.byteLength > max) {
    return {
      kind: "refuse",
      error: errorFrame("too_large", `frames are limited to ${max} bytes`),
      close: { code: CLOSE_TOO_LARGE, reason: "frame too large" },
    };
  }
  // The runtime's auto-response normally answers first; this covers a runtime that did not.
  if (message === "ping") return { kind: "pong" };
  const verdict = bucket.take(now);
  if (verdict !== "ok") {
    const text = `slow down: at most ${rules.ratePerSec} frames per second`;
    return {
      kind: "refuse",
      error: errorFrame("rate_limited", text, peekId(message)),
      ...(verdict === "abusive"
        ? { close: { code: CLOSE_POLICY, reason: "rate limit exceeded" } }
        : {}),
    };
  }
  if (typeof message !== "string") {
    return {
      kind: "refuse",
      error: errorFrame("unsupported_binary", "frames must be JSON text, not binary"),
    };
  }
  // Never parsed: "23423423" or "{}" from a raw socket is that text, not a number or an object.
  if (rules.raw === true) return { kind: "frame", frame: { type: "message", data: message } };
  const parsed = parseClientFrame(message, rules.accepts);
  return parsed.ok
    ? { kind: "frame", frame: parsed.frame }
    : { kind: "refuse", error: parsed.error };
}

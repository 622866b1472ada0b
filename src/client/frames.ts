/**
 * The frames as the client reads and writes them: the one parser every inbound line goes
 * through, and the client frames it keeps until they are acknowledged. The frame types are the
 * protocol's own (src/protocol/frames.ts), the ones the server builds its frames with, so what
 * this parser promises and what the server sends cannot drift apart.
 */
import type { ClientFrame } from "../protocol/client-frames.ts";
import type {
  AckFrame,
  AssignedFrame,
  ClosedFrame,
  DeskCustomer,
  DirectFrame,
  ErrorFrame,
  EventFrame,
  HistoryFrame,
  Member,
  MessageFrame,
  PresenceFrame,
  QueuedFrame,
  ServerFrame,
  StoredFrame,
  WelcomeFrame,
} from "../protocol/frames.ts";

/**
 * Client frames that carry an `id` and so are acknowledged (and safe to re-send). A message
 * with `to` is a desk agent's, to one of its customers.
 */
export type SentFrame = Extract<ClientFrame, { type: "message" | "direct" }> & { id: string };

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isMember = (v: unknown): v is Member =>
  isObject(v) && typeof v.id === "string" && typeof v.name === "string";
const isMemberList = (v: unknown): v is Member[] => Array.isArray(v) && v.every(isMember);
const isDeskCustomer = (v: unknown): v is DeskCustomer =>
  isMember(v) && typeof (v as { online?: unknown }).online === "boolean";
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** A count (of agents, say): the same rule as a seq. */
const isCount = isSeq;
const isOptionalString = (v: unknown): boolean => v === undefined || typeof v === "string";

/**
 * Reads one server frame (one line of a batched message), checking the fields the client relies
 * on (parse, don't cast). Unknown or malformed frames are `null` and ignored, so a newer server
 * with new frame types does not break an older client.
 */
export function parseServerFrame(line: string): ServerFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return null; // not JSON: ignored like any frame this client does not understand
  }
  return readFrame(raw);
}

function readFrame(raw: unknown): ServerFrame | null {
  if (!isObject(raw)) return null;
  const f = raw;
  switch (f.type) {
    case "welcome":
      return typeof f.room === "string" &&
        isMember(f.self) &&
        isOptionalString((f.self as { token?: unknown }).token) &&
        (f.members === null || isMemberList(f.members)) &&
        isSeq(f.seq) &&
        isObject(f.replay) &&
        isSeq(f.replay.from) &&
        isSeq(f.replay.count) &&
        typeof f.replay.complete === "boolean" &&
        (f.customers === undefined ||
          (Array.isArray(f.customers) && f.customers.every(isDeskCustomer))) &&
        (f.agents_online === undefined || isCount(f.agents_online))
        ? (f as unknown as WelcomeFrame)
        : null;
    case "message":
      // At a desk a message names its conversation (`customer`) and its other party (`to`,
      // null while the customer is queued); in a room it has neither.
      return isSeq(f.seq) &&
        isMember(f.from) &&
        "data" in f &&
        (f.to === undefined || f.to === null || typeof f.to === "string") &&
        isOptionalString(f.customer)
        ? (f as unknown as MessageFrame)
        : null;
    case "direct":
      return isSeq(f.seq) && isMember(f.from) && typeof f.to === "string" && "data" in f
        ? (f as unknown as DirectFrame)
        : null;
    case "event":
      return (f.seq === undefined || isSeq(f.seq)) && typeof f.event === "string"
        ? (f as unknown as EventFrame)
        : null;
    case "presence":
      if (f.action === "count")
        return isSeq(f.count) && (f.members === undefined || isMemberList(f.members))
          ? (f as unknown as PresenceFrame)
          : null;
      return (f.action === "join" || f.action === "leave") && isMember(f.member)
        ? (f as unknown as PresenceFrame)
        : null;
    case "ack":
      return typeof f.id === "string" && isSeq(f.seq) ? (f as unknown as AckFrame) : null;
    case "error":
      // Any string: a code this client does not know yet is still worth showing.
      return typeof f.code === "string" && typeof f.message === "string"
        ? (f as unknown as ErrorFrame)
        : null;
    case "history":
      return Array.isArray(f.messages) &&
        typeof f.complete === "boolean" &&
        isOptionalString(f.customer)
        ? ({ ...f, messages: f.messages.map(readFrame).filter(isStored) } as HistoryFrame)
        : null;
    case "queued":
      return Number.isSafeInteger(f.position) && (f.position as number) >= 1
        ? (f as unknown as QueuedFrame)
        : null;
    case "assigned":
      return isMember(f.customer) && isMember(f.agent) ? (f as unknown as AssignedFrame) : null;
    case "closed":
      // A conversation that idled out in the queue never had an agent.
      return isMember(f.customer) && (f.agent === null || isMember(f.agent))
        ? (f as unknown as ClosedFrame)
        : null;
    default:
      return null;
  }
}

const isStored = (f: ServerFrame | null): f is StoredFrame =>
  (f?.type === "message" || f?.type === "direct" || f?.type === "event") && f.seq !== undefined;

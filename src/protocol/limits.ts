/**
 * The limits, read from wrangler.toml [vars] (or the test bindings) once per Worker or object:
 * every one has a default here, and a value that is not a positive number is a loud error.
 */

export interface Limits {
  maxFrameBytes: number;
  maxPushBytes: number;
  ratePerSec: number;
  rateBurst: number;
  historyLimit: number;
  /** How long a desk agent may be gone before its customers go to others. */
  agentGraceSec: number;
  /** Sockets one user may hold in one room or desk; one more closes the oldest (4429). */
  maxSocketsPerUser: number;
  /** Bytes of stored frames one replay or `history` answer may carry. */
  maxReplayBytes: number;
  /** Seconds without a frame after which a desk conversation closes by itself. */
  deskIdleSec: number;
  /** Open conversations one desk may hold; a customer who would open one more gets `desk_full`. */
  deskMaxOpen: number;
  /** Members above which a room announces counts instead of each member. */
  presenceMax: number;
}

export const DEFAULT_LIMITS: Limits = {
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

/** Frames replayed on join when the client gives no `since`. */
export const DEFAULT_REPLAY = 50;

type LimitVars = Partial<
  Record<
    | "MAX_FRAME_BYTES"
    | "MAX_PUSH_BYTES"
    | "RATE_PER_SEC"
    | "RATE_BURST"
    | "HISTORY_LIMIT"
    | "AGENT_GRACE_SEC"
    | "MAX_SOCKETS_PER_USER"
    | "MAX_REPLAY_BYTES"
    | "DESK_IDLE_SEC"
    | "DESK_MAX_OPEN"
    | "PRESENCE_MAX",
    unknown
  >
>;

/**
 * The one parser of every numeric variable: unset (or empty) is the default; anything but a
 * positive number (an integer where `integer`; zero too where `zero`, for a delay) is a loud
 * error naming the variable, never "unlimited" or zero.
 */
export function readPositive(
  value: unknown,
  name: string,
  fallback: number,
  integer: boolean,
  { zero = false }: { zero?: boolean } = {},
): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  // A typo in a deployed limit must be loud, not silently "unlimited" or zero.
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (integer && !Number.isInteger(n))) {
    const what = `${zero ? "zero or a " : "a "}positive ${integer ? "integer" : "number"}`;
    throw new Error(`${name} must be ${what}, got ${String(value)}`);
  }
  return n;
}

export function readLimits(env: LimitVars): Limits {
  const d = DEFAULT_LIMITS;
  return {
    maxFrameBytes: readPositive(env.MAX_FRAME_BYTES, "MAX_FRAME_BYTES", d.maxFrameBytes, true),
    maxPushBytes: readPositive(env.MAX_PUSH_BYTES, "MAX_PUSH_BYTES", d.maxPushBytes, true),
    ratePerSec: readPositive(env.RATE_PER_SEC, "RATE_PER_SEC", d.ratePerSec, false),
    rateBurst: readPositive(env.RATE_BURST, "RATE_BURST", d.rateBurst, true),
    historyLimit: readPositive(env.HISTORY_LIMIT, "HISTORY_LIMIT", d.historyLimit, true),
    agentGraceSec: readPositive(env.AGENT_GRACE_SEC, "AGENT_GRACE_SEC", d.agentGraceSec, false),
    maxSocketsPerUser: readPositive(
      env.MAX_SOCKETS_PER_USER,
      "MAX_SOCKETS_PER_USER",
      d.maxSocketsPerUser,
      true,
    ),
    maxReplayBytes: readPositive(env.MAX_REPLAY_BYTES, "MAX_REPLAY_BYTES", d.maxReplayBytes, true),
    deskIdleSec: readPositive(env.DESK_IDLE_SEC, "DESK_IDLE_SEC", d.deskIdleSec, false),
    deskMaxOpen: readPositive(env.DESK_MAX_OPEN, "DESK_MAX_OPEN", d.deskMaxOpen, true),
    presenceMax: readPositive(env.PRESENCE_MAX, "PRESENCE_MAX", d.presenceMax, true),
  };
}

/**
 * Sharded rooms, the part the Worker and the objects share: which rooms are sharded
 * (SHARDED_ROOMS), how many sockets one shard holds (SHARD_SOCKETS), how a shard object is named,
 * and the order keeper's answer to "where does this join go". docs/sharded-rooms.md is the
 * design.
 */
import type { Refusal } from "./contract.ts";
import { matchesPattern } from "./hooks.ts";
import { readPositive } from "./limits.ts";

/** One object allows 32,768 hibernatable sockets; a shard stays well under that by default. */
export const DEFAULT_SHARD_SOCKETS = 20_000;

export interface ShardSettings {
  /** Comma-separated room names, `*` matching any run of characters; empty: no room. */
  rooms: string;
  shardSockets: number;
}

export function readShardSettings(env: {
  SHARDED_ROOMS?: unknown;
  SHARD_SOCKETS?: unknown;
}): ShardSettings {
  const rooms = env.SHARDED_ROOMS;
  if (rooms !== undefined && typeof rooms !== "string")
    throw new Error(`SHARDED_ROOMS must be a string of room patterns, got ${String(rooms)}`);
  return {
    rooms: rooms ?? "",
    shardSockets: readPositive(env.SHARD_SOCKETS, "SHARD_SOCKETS", DEFAULT_SHARD_SOCKETS, true),
  };
}

export const isShardedRoom = (settings: ShardSettings, room: string): boolean =>
  settings.rooms !== "" && matchesPattern(settings.rooms, room);

/** Room names have no `#`, so a shard's object name can never be a room's. */
export const shardName = (room: string, shard: number): string => `${room}#${shard}`;

/** The room and shard number of a shard object's name. */
export function readShardName(name: string): { room: string; shard: number } {
  const at = name.lastIndexOf("#");
  const shard = Number(name.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(shard) || shard < 0)
    throw new Error(`not a shard's name: ${name}`);
  return { room: name.slice(0, at), shard };
}

/** The order keeper's answer to a join of a sharded room: its shard, or a refusal (a ban). */
export type ShardPick = { shard: number } | { refusal: Refusal };

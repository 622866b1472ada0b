/**
 * What a sharded room's order keeper and its shards say to each other over RPC (the design is
 * docs/sharded-rooms.md). Plain data only: everything here crosses an RPC boundary.
 */
import type { ClientFrame } from "../../protocol";

/** One thing the keeper hands a shard, in the room's order. */
export interface Delivery {
  /** The frame's JSON text, built once by the keeper. */
  text: string;
  /** Stored frames only: the shard checks with it that it misses none and repeats none. */
  seq?: number;
  /** Only these users' sockets may see it (a direct's two parties, a targeted event). */
  to?: string[];
  /** Only this socket (an ack, an error, a `history` answer). */
  socket?: number;
  /** Everyone but this socket (a member's own join). */
  except?: number;
  /** A data frame (message, direct, event): raw sockets get its `data` (as text), nothing else. */
  data?: true;
}

/** A shard asks for a new socket's welcome. */
export interface ShardJoin {
  shard: number;
  socket: number;
  user: string;
  name: string;
  since?: number;
  guestToken?: string;
  /** True on the shard's first call after it started with no sockets (new, or restarted). */
  fresh: boolean;
  /** Sockets the shard holds now, this one included. */
  sockets: number;
}

/** The keeper's answer: the `welcome` text, the replay, and the seq the replay ends at. */
export interface ShardWelcome {
  welcome: string;
  frames: string[];
  seq: number;
}

/** A client frame a shard checked (size, rate, parse) and hands on. */
export interface ShardFrame {
  socket: number;
  user: string;
  frame: ClientFrame;
}

/** A stored frame with who may see it, for a shard catching up on frames it missed. */
export interface StoredRow {
  seq: number;
  sender: string | null;
  recipient: string | null;
  body: string;
}

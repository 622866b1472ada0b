/**
 * The protocol, shared by the Worker, the objects and the browser client: names, limits, codes,
 * frames (sent and received) and the Worker↔object contract. Nothing here touches a socket, a
 * request or storage, so every side can import it and it is tested on its own.
 */
export * from "./client-frames.ts";
export * from "./codes.ts";
export * from "./contract.ts";
export * from "./frames.ts";
export * from "./limits.ts";
export * from "./names.ts";
export * from "./hooks.ts";
export * from "./hook-call.ts";
export * from "./webhook.ts";
export * from "./bytes.ts";
export * from "./shards.ts";

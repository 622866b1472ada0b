/**
 * What the pages import as `/rooms-protocol.js`: the names, limits, frame types and parser,
 * which come with the client. Built as a module that re-exports `/rooms-client.js`, so a page
 * importing both gets one copy of the client.
 */
export * from "./rooms-client.ts";

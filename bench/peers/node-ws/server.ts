/**
 * The Node peer of `npm run bench`: a bare `ws` broadcast server, what the hardware allows with
 * no product logic and no runtime in between. `GET /room/<room>` as a WebSocket upgrade joins a
 * room; every text a client sends goes to every socket of that room, the sender included. A
 * plain GET is answered 426, like this project's trivial route.
 *
 * Run: node bench/peers/node-ws/server.ts <port>   (prints "listening <port>" when ready)
 */
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const rooms = new Map<string, Set<WebSocket>>();

const http = createServer((_req, res) => {
  res.writeHead(426, { "content-type": "application/json", upgrade: "websocket" });
  res.end('{"error":"upgrade_required"}');
});
// No permessage-deflate, as with the runtime peers: the bench measures delivery, not zlib.
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });

wss.on("connection", (ws, req) => {
  const room = new URL(req.url ?? "/", "http://x").pathname;
  const members = rooms.get(room) ?? new Set<WebSocket>();
  rooms.set(room, members);
  members.add(ws);
  ws.on("message", (data, isBinary) => {
    for (const peer of members) {
      // A peer that is closing throws nothing here (ws drops the send); keep going for the rest.
      if (peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
    }
  });
  ws.on("close", () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
  ws.on("error", () => {
    // A reset peer: its close event follows and removes it.
  });
});

http.listen(port, "127.0.0.1", () => {
  const addr = http.address();
  console.log(`listening ${typeof addr === "object" && addr !== null ? addr.port : port}`);
});

/**
 * The partyserver peer of `npm run bench`: a bare broadcast room, the closest thing to this
 * project on the same runtime. Every text a client sends goes to every connection of the room,
 * the sender included (this project echoes too), with partyserver's own `broadcast`. Hibernation
 * is on, as in this project. No storage, no validation, no presence: the runtime's floor.
 *
 * One extra: the text `whoami` is answered, to the asker only, with an id drawn when the object
 * was constructed. The harness uses it to see from outside whether an idle room was evicted
 * (a new id) while its sockets stayed open.
 */
import { Server, routePartykitRequest, type Connection } from "partyserver";

export class BenchRoom extends Server {
  static override options = { hibernate: true };
  /** Drawn per object instance: a new one after every eviction. */
  readonly instance = crypto.randomUUID();

  override onMessage(connection: Connection, message: string | ArrayBuffer): void {
    if (message === "whoami") {
      connection.send(JSON.stringify({ type: "whoami", instance: this.instance }));
      return;
    }
    this.broadcast(message);
  }
}

export default {
  async fetch(request: Request, env: Cloudflare.Env): Promise<Response> {
    // GET /parties/bench-room/<room> (a WebSocket upgrade) reaches the room <room>.
    const routed = await routePartykitRequest(request, env);
    return routed ?? Response.json({ error: "not_found" }, { status: 404 });
  },
};

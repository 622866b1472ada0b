// @ts-check
/**
 * Paging back through a room's history, wired to a client: the pages' one pager. It keeps a
 * HistoryPaging (../history-paging.js: where the next page starts, and whether the room said its
 * start is reached) up to date with every stored frame, the first welcome's replay, each
 * `history` answer and a lost connection, and asks for a page when the page wants more. The
 * page only draws: `older` gets the frames a page adds (older than any seen, each once), and
 * `changed` says when the pager's state moved, so a "Load older" control can follow it.
 */
import { HistoryPaging } from "../history-paging.js";

/** @typedef {import("../rooms-client.js").RoomClient} RoomClient */
/** @typedef {import("../rooms-client.js").StoredFrame} StoredFrame */
/** @typedef {import("../rooms-client.js").HistoryFrame} HistoryFrame */
/**
 * `welcome`: every welcome (the first one also told where the replay starts); `asked`: a page is
 * on its way; `answered`: it came (after `older`); `interrupted`: the connection went while a
 * page was on its way, which may never come now, so asking is allowed again.
 * @typedef {"welcome" | "asked" | "answered" | "interrupted"} PagerChange
 */

/**
 * @param {RoomClient} client
 * @param {{ pageSize: number, older: (frames: StoredFrame[], page: HistoryFrame) => void,
 *   changed?: (why: PagerChange) => void }} options `pageSize`: at most MAX_HISTORY_PAGE
 */
export function historyPager(client, { pageSize, older, changed = () => {} }) {
  const paging = new HistoryPaging(pageSize);
  let firstWelcome = true;
  /** @param {StoredFrame} frame */
  const saw = (frame) => paging.saw(frame.seq);
  client.on("message", saw);
  client.on("direct", saw);
  client.on("event", saw);
  client.on("welcome", (w) => {
    // The first is the join without `since`, replaying the newest frames; later ones resume.
    if (firstWelcome) paging.welcomed(w.replay);
    firstWelcome = false;
    changed("welcome");
  });
  client.on("state", (s) => {
    if (s.state !== "reconnecting" || !paging.loading) return;
    paging.interrupted();
    changed("interrupted");
  });
  client.on("history", (h) => {
    older(paging.answered(h), h);
    changed("answered");
  });
  return {
    /** The room said nothing is older than what the page has. */
    get complete() {
      return paging.complete;
    },
    /** A page is on its way. */
    get loading() {
      return paging.loading;
    },
    /** Asks for the next older page; false when there is none to ask for (or one is coming). */
    more() {
      const page = paging.next();
      if (page === null) return false;
      changed("asked");
      client.requestHistory(page);
      return true;
    },
  };
}

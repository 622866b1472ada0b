/**
 * Demo feeders for the live dashboard (pages/dashboard.html): a backend pushing signed events
 * into a room once a second until stopped (Ctrl-C), as a real sensor gateway or price feed would.
 *
 *   npm run demo:sensors -- --room farm-1     farm sensors: temperature, humidity, alarms
 *   npm run demo:stocks  -- --room market     prices: stored quotes each second, live ticks between
 *
 * Options: --url <base> (or ROOMS_URL), --count <rounds> (stop after that many), --interval <ms>,
 * --ticks <per second> (stocks: live-only ticks between the stored quotes; default 4).
 *
 * What is stored and what is not: a reading or quote per second is what a late page replays to
 * draw its charts, so it is stored; ticks between them are only worth seeing live, so they go
 * with `store: false` and never fill the room's history (HISTORY_LIMIT) or its storage.
 */
import { parseArgs } from "node:util";
import { baseUrl } from "./secrets.ts";
import { signedPost } from "./signed-post.ts";

type PushEvent = { room: string; event: string; data: unknown; store?: boolean };

const USAGE =
  "usage: node scripts/demo.ts sensors|stocks --room <room> [--url <base>] [--count <n>] [--interval <ms>] [--ticks <n>]";

// ---- farm sensors ----

const SENSORS = [
  { id: "greenhouse-1", base: 24, swing: 5 },
  { id: "greenhouse-2", base: 22, swing: 4 },
  { id: "barn", base: 16, swing: 3 },
  { id: "field-north", base: 12, swing: 8 },
];
const TEMP_HIGH = 28;
const HUMIDITY_LOW = 35;

function sensorRound(room: string, t: number, random: () => number): PushEvent[] {
  const events: PushEvent[] = [];
  for (const s of SENSORS) {
    // A daily cycle compressed into ten minutes, plus noise; humidity falls as it warms.
    const phase = (t / 600) * 2 * Math.PI;
    const temperature = round1(s.base + s.swing * Math.sin(phase) + (random() - 0.5) * 1.5);
    const humidity = round1(
      Math.min(100, Math.max(0, 70 - (temperature - s.base) * 4 + (random() - 0.5) * 6)),
    );
    events.push({ room, event: "reading", data: { sensor: s.id, temperature, humidity } });
    if (temperature > TEMP_HIGH) {
      events.push({
        room,
        event: "alarm",
        data: { sensor: s.id, alarm: "temperature_high", value: temperature },
      });
    } else if (humidity < HUMIDITY_LOW) {
      events.push({
        room,
        event: "alarm",
        data: { sensor: s.id, alarm: "humidity_low", value: humidity },
      });
    } else if (random() < 0.01) {
      events.push({
        room,
        event: "alarm",
        data: { sensor: s.id, alarm: "battery_low", value: round1(5 + random() * 10) },
      });
    }
  }
  return events;
}

// ---- stock prices ----

const SYMBOLS = ["ACME", "GLOBEX", "INITECH", "UMBRELLA"];

class Market {
  prices = new Map(SYMBOLS.map((s, i) => [s, 50 + i * 40]));
  open = new Map(this.prices);

  step(random: () => number): void {
    for (const [s, p] of this.prices)
      this.prices.set(s, round2(Math.max(1, p * (1 + (random() - 0.5) * 0.004))));
  }

  events(room: string, event: "quote" | "tick", store: boolean, random: () => number): PushEvent[] {
    return SYMBOLS.map((symbol) => {
      const price = this.prices.get(symbol)!;
      const change = round2(((price - this.open.get(symbol)!) / this.open.get(symbol)!) * 100);
      const data =
        event === "quote"
          ? { symbol, price, change, volume: Math.round(1000 + random() * 9000) }
          : { symbol, price };
      return { room, event, data, store };
    });
  }
}

// ---- the loop ----

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

async function push(base: string, events: PushEvent[]): Promise<void> {
  const res = await signedPost(
    base,
    "/push",
    JSON.stringify({ events }),
    `demo_${crypto.randomUUID()}`,
  );
  if (!res.ok) throw new Error(`push refused: HTTP ${res.status} ${await res.text()}`);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      room: { type: "string" },
      url: { type: "string" },
      count: { type: "string" },
      interval: { type: "string", default: "1000" },
      ticks: { type: "string", default: "4" },
    },
  });
  const kind = positionals[0];
  const count = values.count === undefined ? Infinity : Number(values.count);
  const interval = Number(values.interval);
  const ticks = Number(values.ticks);
  if (
    (kind !== "sensors" && kind !== "stocks") ||
    !values.room ||
    !(count > 0) ||
    !(interval > 0) ||
    !(ticks >= 0)
  ) {
    console.error(USAGE);
    return 2;
  }
  const base = baseUrl(values.url);
  const room = values.room;
  const market = new Market();
  let stopped = false;
  process.once("SIGINT", () => (stopped = true));
  console.log(`pushing ${kind} into room "${room}" at ${base} every ${interval} ms (Ctrl-C stops)`);
  for (let round = 0; round < count && !stopped; round++) {
    const started = Date.now();
    if (kind === "sensors") {
      await push(base, sensorRound(room, started / 1000, Math.random));
    } else {
      market.step(Math.random);
      await push(base, market.events(room, "quote", true, Math.random));
      // Live-only ticks between the stored quotes: ticks per second × symbols events each second.
      for (let i = 0; i < ticks && round + 1 < count && !stopped; i++) {
        await sleep(interval / (ticks + 1));
        market.step(Math.random);
        await push(base, market.events(room, "tick", false, Math.random));
      }
    }
    if (round + 1 < count) await sleep(Math.max(0, interval - (Date.now() - started)));
  }
  return 0;
}

// A feeder paces itself by the clock: there is no event to wait for.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}

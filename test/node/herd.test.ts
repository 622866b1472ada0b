/**
 * bench/herd.ts: the tally of perf samples that went to the runtime's isolate lock queue.
 */
import { describe, expect, it } from "vitest";
import { LockQueueTally } from "../../bench/herd.ts";

/** One sample as `perf script -F comm,tid,time,ip,sym` prints it. */
const sample = (comm: string, time: string, frames: string[]) => [
  `         ${comm} 24525 ${time}: `,
  ...frames.map((f, i) => `\t    ${(0x1000 + i).toString(16)} ${f}`),
  "",
];

describe("LockQueueTally", () => {
  it("counts workerd's samples per second, and those spent in the isolate lock queue", () => {
    const tally = new LockQueueTally(1000);
    const lines = [
      ...sample("workerd", "10.100000", [
        "kj::_::PromiseAwaiterBase::awaitResumeImpl",
        "workerd::AsyncLockQueue<workerd::Worker::Isolate>::lock",
        "kj::_::waitImpl",
      ]),
      ...sample("workerd", "10.900000", ["v8::internal::Execution::Call", "kj::_::waitImpl"]),
      ...sample("node", "10.500000", ["workerd::AsyncLockQueue<x>::lock"]),
      ...sample("workerd", "11.200000", ["kj::_::ForkHubBase::fire"]),
      // The last sample of a recording has no blank line after it.
      ...sample("workerd", "11.300000", ["epoll_wait"]).slice(0, -1),
    ];
    for (const line of lines) tally.line(line);
    expect(tally.seconds()).toEqual([
      { at: 1010, samples: 2, lockQueue: 1 },
      { at: 1011, samples: 2, lockQueue: 1 },
    ]);
  });
});

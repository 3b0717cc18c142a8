#! /usr/bin/env python3
# Copyright (c) 2026 The ovs-vhostuser authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at:
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""rx-mode-bench-report.py RUNS.jsonl [--json OUT] [--meta K=V ...]

Summarizes the receive-mode runs of "ovs-bench.sh --rx-modes": per switch
configuration, the median over rounds of the idle cost (CPU time of
ovs-vswitchd while its frontends are idle, in percent of one core) and of
the round-trip times, then the figures the receive modes are judged by."""

import argparse
import json
import re
import statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def parse_ping(line):
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line or ""))
    return {k: float(v) for k, v in fields.items()}


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs")
    parser.add_argument("--json")
    parser.add_argument("--meta", nargs="*", default=[])
    args = parser.parse_args()

    runs = [json.loads(line) for line in open(args.runs) if line.strip()]
    configs = []
    for r in runs:
        if r["config"] not in configs:
            configs.append(r["config"])

    summary = {}
    for c in configs:
        rs = [r for r in runs if r["config"] == c]
        idle = [100.0 * r["idle_ticks"] / r["clk_tck"] / r["idle_seconds"]
                for r in rs if r["idle_seconds"]]
        pings = [parse_ping(r["ping"]) for r in rs]
        summary[c] = {
            "idle_cpu_pct": median(idle),
            "idle_cpu_pct_runs": [round(x, 2) for x in idle],
            "p50_us": median([p.get("p50_us") for p in pings]),
            "p99_us": median([p.get("p99_us") for p in pings]),
            "lost": sum(int(p.get("lost", 0)) for p in pings),
            "round_trips": sum(int(p.get("round_trips", 0)) for p in pings),
        }

    print("%-20s %14s %10s %10s %12s" % ("configuration", "idle CPU %",
                                         "p50 us", "p99 us",
                                         "round trips"))
    for c in configs:
        s = summary[c]
        print("%-20s %14s %10s %10s %12s" % (
            c, fmt(s["idle_cpu_pct"], ".2f"), fmt(s["p50_us"]),
            fmt(s["p99_us"]), "%d (%d lost)" % (s["round_trips"],
                                                s["lost"])))

    verdicts = {}

    def get(c, k):
        return summary.get(c, {}).get(k)

    for mode in ("adaptive", "interrupt"):
        idle = get("ours-" + mode, "idle_cpu_pct")
        if idle is not None:
            verdicts["%s_idle_cpu_pct" % mode] = idle
            print("%s idle cost: %.2f %% of a core (target <= 1 %%)%s"
                  % (mode, idle, "" if idle <= 1.0 else "  MISSED"))
    poll_idle = get("ours-polling", "idle_cpu_pct")
    if poll_idle is not None:
        print("polling idle cost: %.2f %% of a core" % poll_idle)
    a50, p50 = get("ours-adaptive", "p50_us"), get("ours-polling", "p50_us")
    if a50 is not None and p50 is not None:
        verdicts["adaptive_minus_polling_p50_us"] = a50 - p50
        print("adaptive p50 - polling p50: %+.1f us (target <= 50)%s"
              % (a50 - p50, "" if a50 - p50 <= 50 else "  MISSED"))
    d50 = get("ovs-dpdk-maxsleep", "p50_us")
    if a50 is not None and d50 is not None:
        verdicts["adaptive_over_dpdk_maxsleep_p50"] = a50 / d50
        print("adaptive p50 / OVS-DPDK pmd-maxsleep=10000 p50: x%.3g "
              "(target < 1)%s" % (a50 / d50, "" if a50 < d50 else
                                  "  MISSED"))
    d_idle = get("ovs-dpdk-maxsleep", "idle_cpu_pct")
    a_idle = get("ours-adaptive", "idle_cpu_pct")
    if d_idle is not None and a_idle is not None and a_idle > 0:
        print("OVS-DPDK pmd-maxsleep=10000 idle / adaptive idle: x%.1f"
              % (d_idle / a_idle))

    if args.json:
        meta = dict(kv.split("=", 1) for kv in args.meta)
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "summary": summary,
                       "verdicts": verdicts, "runs": runs}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

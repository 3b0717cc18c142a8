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

"""offload-bench-report.py RUNS.jsonl [--json OUT] [--meta K=V ...]

Summarizes "ovs-bench.sh --offloads": per switch configuration, the guest
to guest TCP transfers (Mbit/s of each, its median, how many completed)
and the peers' 64 KB TSO runs (Gbit/s), then the ratios the offloads are
judged by."""

import argparse
import json
import statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs")
    parser.add_argument("--json")
    parser.add_argument("--meta", nargs="*", default=[])
    args = parser.parse_args()

    runs = [json.loads(line) for line in open(args.runs) if line.strip()]
    meta = dict(kv.split("=", 1) for kv in args.meta)
    tcp = {}
    for r in (r for r in runs if r["kind"] == "tcp"):
        s = tcp.setdefault(r["config"], {"mbps": [], "complete": 0,
                                         "transfers": 0,
                                         "guest_features":
                                         r["guest_features"]})
        for got, seconds in r["transfers"]:
            s["transfers"] += 1
            # Goodput: what arrived, over the time the sender took (an
            # incomplete transfer counts what got through before its
            # time limit).
            s["mbps"].append(round(got * 8 / seconds / 1e6, 2)
                             if seconds > 0 else None)
            if got == r["bytes"]:
                s["complete"] += 1
    for s in tcp.values():
        s["median_mbps"] = median(s["mbps"])

    tso = {}
    for r in (r for r in runs if r["kind"] == "tso"):
        s = tso.setdefault(r["config"], {"gbps": [], "bad": 0})
        s["gbps"].append(r["gbps"])
        s["bad"] += r.get("bad", 0)
    for s in tso.values():
        s["median_gbps"] = median(s["gbps"])

    print("Guest to guest TCP (Mbit/s, timed in the receiving guest, "
          "guests under %s;" % meta.get("guest_accel", "tcg").upper())
    print("features: CSUM, GUEST_CSUM, GUEST_TSO4, HOST_TSO4 as guest 1's")
    print("driver negotiated them):")
    print("%-26s %-8s %8s  %-8s %s" % ("configuration/ports", "features",
                                         "median", "complete",
                                         "transfers"))
    for c, s in tcp.items():
        print("%-26s %-8s %8s  %-8s %s" % (
            c, s["guest_features"], fmt(s["median_mbps"]),
            "%d/%d" % (s["complete"], s["transfers"]),
            " ".join(fmt(x) for x in s["mbps"])))
    if tso:
        print("Peers, 64 KB TSO frames (Gbit/s of TCP payload):")
        for c, s in tso.items():
            print("%-14s %10s  bad=%d  %s" % (
                c, fmt(s["median_gbps"], ".2f"), s["bad"],
                " ".join(fmt(x, ".2f") for x in s["gbps"])))

    verdicts = {}

    def tcp_median(c):
        return tcp.get(c, {}).get("median_mbps")

    modes = []
    for c in tcp:
        mode = c.split("/")[1] if "/" in c else ""
        if mode not in modes:
            modes.append(mode)
    for mode in modes:
        sfx = "/" + mode if mode else ""
        ours_tso = tcp_median("ours-tso" + sfx)
        r = ratio(ours_tso, tcp_median("ours" + sfx))
        if r is not None:
            verdicts["tcp_ours_tso_over_ours" + sfx] = r
            print("%s ports: ours with offloads / ours without: x%.2f "
                  "(target >= 2)%s" % (mode, r, "" if r >= 2 else
                                       "  MISSED"))
        dpdk = [tcp_median(c + sfx) for c in ("ovs-dpdk-tso", "ovs-dpdk")]
        dpdk = [x for x in dpdk if x is not None]
        for c, what in (("ours-tso", "ours with offloads"),
                        ("ours-tso-interrupt",
                         "ours with offloads, interrupt mode")):
            r = ratio(tcp_median(c + sfx), max(dpdk) if dpdk else None)
            if r is not None:
                verdicts["tcp_%s_over_best_ovs_dpdk%s"
                         % (c.replace("-", "_"), sfx)] = r
                print("%s ports: %s / the better OVS-DPDK: x%.2f "
                      "(target >= 2)%s" % (mode, what, r,
                                           "" if r >= 2 else "  MISSED"))
    for c, s in tcp.items():
        if c.startswith("ours") and s["complete"] != s["transfers"]:
            print("%s: %d of %d transfers incomplete  MISSED"
                  % (c, s["transfers"] - s["complete"], s["transfers"]))
    r = ratio(tso.get("ours-tso", {}).get("median_gbps"),
              tso.get("ovs-dpdk-tso", {}).get("median_gbps"))
    if r is not None:
        verdicts["tso_peers_ours_over_ovs_dpdk"] = r
        print("peers' TSO frames, ours / OVS-DPDK: x%.2f" % r)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "tcp": tcp, "tso": tso,
                       "verdicts": verdicts, "runs": runs}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

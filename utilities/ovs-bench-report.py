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

"""Summaries for utilities/ovs-bench.sh.

Three modes:

  --one-line                 reads one run (a JSON line) on stdin and prints
                             a one-line summary of it;
  --callgrind INCL SELF N    reads callgrind_annotate's inclusive and self
                             listings of a run in which N frames went
                             through our switch and prints instructions per
                             frame as JSON;
  --runs FILE ...            reads every run (JSON lines), prints the table
                             of medians and ratios and writes the JSON
                             results file.
"""

import argparse
import json
import re
import statistics
import sys

# Functions whose inclusive cost per frame the callgrind summary reports:
# our netdev's receive and send callbacks (the port's cost), the receive's
# part that runs only when there are frames to take (vhost_rxq_recv__),
# the engine calls inside them, and dpif-netdev's whole per-batch
# processing.
CG_FUNCS = [
    "netdev_vhost_user_rxq_recv",
    "vhost_rxq_recv__",
    "netdev_vhost_user_send",
    "vhu_dequeue_burst",
    "vhu_enqueue_burst",
    "vhost_packet_alloc",
    "dp_packet_delete_batch",
    "dp_netdev_process_rxq_port",
    "dp_netdev_input",
    "pmd_thread_main",
]


def run_rates(run):
    """Returns the run's mean rates over its intervals as a dict, or None
    for a failed run (no intervals, or no frame in some interval)."""
    intervals = run.get("intervals")
    if not intervals:
        return None
    cols = list(zip(*intervals))
    mpps12, mpps21, gbps12, gbps21 = (statistics.mean(c) for c in cols)
    if min(a + b for a, b, _, _ in intervals) <= 0:
        return None
    return {"mpps_1to2": mpps12, "mpps_2to1": mpps21,
            "mpps": mpps12 + mpps21,
            "gbps_1to2": gbps12, "gbps_2to1": gbps21,
            "gbps": gbps12 + gbps21}


def case_of(run):
    """The run's case: frame size, ring size and extra idle ports, as
    "SIZE-rRING-iIDLE" (runs from before --ring-sizes and --idle-vifs
    used rings of 1024 and no idle port)."""
    return "%d-r%d-i%d" % (run["size"], run.get("ring", 1024),
                           run.get("idle_vifs", 0))


def case_fields(case):
    """(size, ring, idle) of a case_of() string."""
    size, ring, idle = case.split("-")
    return int(size), int(ring[1:]), int(idle[1:])


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def one_line(run):
    rates = run_rates(run)
    head = "round %d: %-11s %4d B, ring %d, %d idle ports:" % (
        run["round"], run["switch"], run["size"], run.get("ring", 1024),
        run.get("idle_vifs", 0))
    if rates is None:
        return head + " FAILED (no traffic)"
    return (head + " %6.3f Mpps (%.3f + %.3f), %6.3f Gbit/s, "
            "%s cycles/pkt, PMD idle %s%%, private %d MB, hugepages %d"
            % (rates["mpps"], rates["mpps_1to2"], rates["mpps_2to1"],
               rates["gbps"], fmt(run.get("avg_processing_cycles"), ".1f"),
               fmt(run.get("idle_pct"), ".1f"),
               run.get("private_kb", 0) // 1024,
               run.get("hugepages_used", 0)))


def parse_annotate(path, inclusive):
    """Returns {function: Ir} and the program total from a
    callgrind_annotate listing ("1,234 (5.6%)  file.c:func [obj]").

    Callgrind lists the lines that a function took from an inlined header
    as a separate "header.h:function" entry.  In a self listing the
    entries add up; in an inclusive listing the function's own entry
    already contains the others, so the largest one is kept."""
    costs = {}
    total = None
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([\d,]+)\s+(\([\d.]+%\)\s+)?(.*)$", line)
            if not m:
                continue
            ir = int(m.group(1).replace(",", ""))
            rest = m.group(3)
            if rest.startswith("PROGRAM TOTALS"):
                total = ir
                continue
            name = re.sub(r"\s*\[.*\]$", "", rest)
            name = name.split(":", 1)[-1].strip()
            if inclusive:
                costs[name] = max(costs.get(name, 0), ir)
            else:
                costs[name] = costs.get(name, 0) + ir
    return costs, total


def callgrind_summary(incl_path, self_path, frames):
    incl, total = parse_annotate(incl_path, True)
    own, _ = parse_annotate(self_path, False)
    out = {"frames": frames, "total_ir": total, "inclusive_per_frame": {},
           "self_per_frame": []}
    if not frames:
        return out
    for fn in CG_FUNCS:
        if fn in incl:
            out["inclusive_per_frame"][fn] = round(incl[fn] / frames, 1)
    rx = incl.get("netdev_vhost_user_rxq_recv")
    tx = incl.get("netdev_vhost_user_send")
    if rx is not None and tx is not None:
        out["port_ir_per_frame"] = round((rx + tx) / frames, 1)
    # The same without the polls that found the ring empty, whose number
    # depends on how the peers and the switch happened to take turns.
    rx_taking = incl.get("vhost_rxq_recv__")
    if rx_taking is not None and tx is not None:
        out["frame_ir_per_frame"] = round((rx_taking + tx) / frames, 1)
    if total:
        out["total_ir_per_frame"] = round(total / frames, 1)
    for fn, ir in sorted(own.items(), key=lambda kv: -kv[1])[:25]:
        out["self_per_frame"].append([fn, round(ir / frames, 1)])
    return out


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def pair_ratios(runs, summary, sw, base, case, base_case=None):
    """Ratios of switch 'sw' to switch 'base' in case 'case' (or, with
    'base_case', of 'sw' in 'case' to 'base' in 'base_case')."""
    base_case = base_case or case
    a = summary["%s/%s" % (sw, case)]
    b = summary.get("%s/%s" % (base, base_case))
    if b is None:
        return None
    # Paired: each round's two runs ran back to back, so they shared the
    # machine's state more than runs rounds apart; the median of the
    # per-round ratios is less sensitive to the load changing between
    # rounds than the ratio of the medians.
    paired = {"mpps": [], "avg_processing_cycles": []}
    for rnd in sorted({r["round"] for r in runs}):
        ra = [r for r in runs if r["switch"] == sw
              and case_of(r) == case and r["round"] == rnd]
        rb = [r for r in runs if r["switch"] == base
              and case_of(r) == base_case and r["round"] == rnd]
        if not ra or not rb:
            continue
        xa, xb = run_rates(ra[0]), run_rates(rb[0])
        if xa is not None and xb is not None:
            paired["mpps"].append(ratio(xa["mpps"], xb["mpps"]))
            paired["avg_processing_cycles"].append(
                ratio(ra[0].get("avg_processing_cycles"),
                      rb[0].get("avg_processing_cycles")))
    paired = {k: [x for x in v if x is not None] for k, v in paired.items()}
    return {
        "mpps": ratio(a["mpps"], b["mpps"]),
        "gbps": ratio(a["gbps"], b["gbps"]),
        "avg_processing_cycles": ratio(a["avg_processing_cycles"],
                                       b["avg_processing_cycles"]),
        "paired_mpps": median(paired["mpps"]),
        "paired_avg_processing_cycles":
            median(paired["avg_processing_cycles"]),
        "paired_mpps_runs": [round(x, 3) for x in paired["mpps"]],
        "paired_avg_processing_cycles_runs":
            [round(x, 3) for x in paired["avg_processing_cycles"]],
    }


def report(args):
    runs = [json.loads(line) for line in open(args.runs) if line.strip()]
    meta = {}
    for kv in args.meta or []:
        k, _, v = kv.partition("=")
        meta[k] = v
    try:
        cg = json.load(open(args.callgrind_json))
    except (OSError, ValueError):
        cg = {}

    switches = []
    cases = []
    for r in runs:
        if r["switch"] not in switches:
            switches.append(r["switch"])
        if case_of(r) not in cases:
            cases.append(case_of(r))

    # Medians per switch and size.
    keys = ["mpps_1to2", "mpps_2to1", "mpps", "gbps_1to2", "gbps_2to1",
            "gbps"]
    summary = {}
    for sw in switches:
        for case in cases:
            sel = [r for r in runs
                   if r["switch"] == sw and case_of(r) == case]
            if not sel:
                continue
            rates = [run_rates(r) for r in sel]
            ok = [(r, x) for r, x in zip(sel, rates) if x is not None]
            s = {"runs": len(sel), "failed": len(sel) - len(ok)}
            for k in keys:
                s[k] = median([x[k] for _, x in ok])
                s[k + "_runs"] = [round(x[k], 4) for _, x in ok]
            for k in ["avg_processing_cycles", "idle_pct", "output_batch",
                      "private_kb", "private_hugetlb_kb", "hugepages_used",
                      "add_seconds", "up_seconds"]:
                s[k] = median([r.get(k) for r, _ in ok])
                s[k + "_runs"] = [r.get(k) for r, _ in ok]
            # Saturated: the PMD had (almost) no idle iterations.
            s["pmd_saturated"] = (s["idle_pct"] is not None
                                  and s["idle_pct"] < 5.0)
            summary["%s/%s" % (sw, case)] = s

    # Ratios to OVS-DPDK, and to our switch with every transmit lock taken
    # (the "locked" variant) when it ran; our packed rings also against
    # our split rings and OVS-DPDK's packed rings.
    ratios = {}
    for base in ("ovs-dpdk", "ours-locked", "ours", "ovs-dpdk-packed"):
        if base not in switches:
            continue
        for sw in switches:
            if sw in (base, "ovs-dpdk"):
                continue
            if base in ("ours", "ovs-dpdk-packed") and sw != "ours-packed":
                continue
            for case in cases:
                if "%s/%s" % (sw, case) not in summary:
                    continue
                r = pair_ratios(runs, summary, sw, base, case)
                if r is not None:
                    ratios["%s/%s/%s" % (sw, case, base)] = r

    # What each switch keeps of its rate with idle ports: against itself
    # without them, same frame and ring size.
    kept = {}
    for sw in switches:
        for case in cases:
            size, ring, idle = case_fields(case)
            base_case = "%d-r%d-i0" % (size, ring)
            if (not idle or "%s/%s" % (sw, case) not in summary
                    or "%s/%s" % (sw, base_case) not in summary):
                continue
            r = pair_ratios(runs, summary, sw, sw, case, base_case)
            if r is not None:
                kept["%s/%s" % (sw, case)] = r

    # The table.
    print()
    print("Medians of %s interleaved runs per switch and size; %s CPUs, "
          "PMD on CPU %s, testpmd forwarding on CPU %s; load average %s "
          "(start), %s (end)."
          % (meta.get("rounds", "?"), meta.get("nproc", "?"),
             meta.get("pmd_cpu", "?"), meta.get("gen_cpu", "?"),
             meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")))
    hdr = ("%-12s %5s %5s %4s %7s %7s %7s %7s %7s %7s %8s %6s %4s %8s %6s"
           " %6s"
           % ("switch", "size", "ring", "idle", "Mpps", "1->2", "2->1",
              "Gbit/s", "1->2", "2->1", "cyc/pkt", "idle%", "sat",
              "priv MB", "huge", "add s"))
    print(hdr)
    print("-" * len(hdr))
    for case in cases:
        size, ring, idle = case_fields(case)
        for sw in switches:
            s = summary.get("%s/%s" % (sw, case))
            if s is None:
                continue
            print("%-12s %5d %5d %4d %7s %7s %7s %7s %7s %7s %8s %6s %4s "
                  "%8s %6s %6s"
                  % (sw, size, ring, idle, fmt(s["mpps"]),
                     fmt(s["mpps_1to2"]),
                     fmt(s["mpps_2to1"]), fmt(s["gbps"], ".2f"),
                     fmt(s["gbps_1to2"], ".2f"), fmt(s["gbps_2to1"], ".2f"),
                     fmt(s["avg_processing_cycles"], ".1f"),
                     fmt(s["idle_pct"], ".1f"),
                     "yes" if s["pmd_saturated"] else "no",
                     fmt(None if s["private_kb"] is None
                         else s["private_kb"] / 1024, ".1f"),
                     fmt(s["hugepages_used"], ".0f"),
                     fmt(s["add_seconds"], ".1f")))
            if s["failed"]:
                print("%-12s %5s (%d of %d runs failed)"
                      % ("", "", s["failed"], s["runs"]))
    print()
    for key, r in list(ratios.items()) + list(kept.items()):
        if key in kept:
            sw, case = key.split("/")
            size, ring, idle = case_fields(case)
            what = ("%s with %d idle ports / without, %d B, ring %d"
                    % (sw, idle, size, ring))
        else:
            sw, case, base = key.split("/")
            size, ring, idle = case_fields(case)
            what = ("%s/%s at %d B, ring %d, %d idle ports"
                    % (sw, base, size, ring, idle))
        print("%s: Mpps x%s, Gbit/s x%s, processing cycles per packet x%s"
              % (what, fmt(r["mpps"], ".2f"), fmt(r["gbps"], ".2f"),
                 fmt(r["avg_processing_cycles"], ".2f")))
        print("  per round (back-to-back pairs): Mpps %s, cycles %s; "
              "medians x%s and x%s"
              % (" ".join(fmt(x, ".2f") for x in r["paired_mpps_runs"]),
                 " ".join(fmt(x, ".2f")
                          for x in r["paired_avg_processing_cycles_runs"]),
                 fmt(r["paired_mpps"], ".2f"),
                 fmt(r["paired_avg_processing_cycles"], ".2f")))
    if cg.get("port_ir_per_frame") is not None:
        inc = cg["inclusive_per_frame"]
        print()
        print("callgrind, our switch, %d frames of 64 B: "
              "netdev_vhost_user_rxq_recv %s + netdev_vhost_user_send %s "
              "= %s instructions per frame; whole PMD iteration "
              "(dp_netdev_process_rxq_port) %s"
              % (cg["frames"], inc.get("netdev_vhost_user_rxq_recv"),
                 inc.get("netdev_vhost_user_send"),
                 cg["port_ir_per_frame"],
                 inc.get("dp_netdev_process_rxq_port")))
        if cg.get("frame_ir_per_frame") is not None:
            print("without the polls that found nothing: vhost_rxq_recv__ "
                  "%s + netdev_vhost_user_send %s = %s instructions per "
                  "frame"
                  % (inc.get("vhost_rxq_recv__"),
                     inc.get("netdev_vhost_user_send"),
                     cg["frame_ir_per_frame"]))
        print("most instructions per frame (self):")
        for fn, ir in cg["self_per_frame"][:15]:
            print("  %8.1f  %s" % (ir, fn))

    result = {"meta": meta, "runs": runs, "summary": summary,
              "ratios": ratios, "kept_with_idle_vifs": kept,
              "callgrind": cg}
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print()
    print("results written to %s" % args.json)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--one-line", action="store_true")
    p.add_argument("--callgrind", nargs=3,
                   metavar=("INCLUSIVE", "SELF", "FRAMES"))
    p.add_argument("--runs")
    p.add_argument("--callgrind-json")
    p.add_argument("--json")
    p.add_argument("--meta", nargs="*")
    args = p.parse_args()
    if args.one_line:
        for line in sys.stdin:
            if line.strip():
                print(one_line(json.loads(line)))
    elif args.callgrind:
        incl, own, frames = args.callgrind
        json.dump(callgrind_summary(incl, own, int(frames or 0)),
                  sys.stdout, indent=2)
        print()
    elif args.runs and args.json:
        report(args)
    else:
        p.error("one of --one-line, --callgrind, --runs/--json is needed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Collect the result.json files that bench/compare_quality.sh writes into one
markdown table (tinygan beside its PyTorch twin at equal iterations), with
the mean FID per model over the seeds run.

    /usr/bin/python3 bench/quality_table.py [out/quality]
"""

import glob
import json
import os
import sys
from collections import defaultdict

ORDER = ["dcgan", "dense", "dense-bn", "minimal", "inverted"]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "out/quality"
    results = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(root, "*", "result.json")))]
    if not results:
        raise SystemExit(f"no result.json under {root}: run bench/compare_quality.sh MODEL [SEED] first")
    results.sort(key=lambda r: (ORDER.index(r["model"]) if r["model"] in ORDER else 99, r["seed"]))
    print("| model | seed | iterations | library | FID | IS | confident | classes | train s |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    fids = defaultdict(lambda: defaultdict(list))
    for r in results:
        for lib, name in (("tinygan", "tinygan"), ("torch", "PyTorch")):
            s = r[lib]["score"]
            fids[r["model"]][name].append(s["fid"])
            print(f"| {r['model']} | {r['seed']} | {r['iterations']} | {name} | {s['fid']:.2f} | "
                  f"{s['inception_score']:.2f} | {100 * s['confident_share']:.1f}% | {s['classes_covered']} | "
                  f"{r[lib]['seconds']:.0f} |")
    print()
    print("| model | seeds | tinygan mean FID | PyTorch mean FID | tinygan at least as good |")
    print("|---|---:|---:|---:|---|")
    for model in sorted(fids, key=lambda m: ORDER.index(m) if m in ORDER else 99):
        t, p = fids[model]["tinygan"], fids[model]["PyTorch"]
        mt, mp = sum(t) / len(t), sum(p) / len(p)
        print(f"| {model} | {len(t)} | {mt:.2f} | {mp:.2f} | {'yes' if mt <= mp else 'no'} |")


if __name__ == "__main__":
    main()

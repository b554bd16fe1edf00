#!/usr/bin/env python3
"""Collect the result.json files that bench/compare_quality.sh writes into one
markdown table (tinygan beside its PyTorch twin), with the mean FID per data
set and model over the seeds run (a Fashion-MNIST run is "fashion-mnist
dcgan"). The rarest class's share shows mode collapse; for the
inverted model the frame (background) mean and the distance to the nearest
training 8 relative to the test 8s' show whether the outputs are digits.

    /usr/bin/python3 bench/quality_table.py [out/quality]
"""

import glob
import json
import os
import sys
from collections import defaultdict

ORDER = ["dcgan", "dense", "dense-bn", "minimal", "inverted"]


def name(r):
    """The model, after its data set unless that is MNIST (results before data sets have none)."""
    dataset = r.get("dataset", "mnist")
    return r["model"] if dataset == "mnist" else f"{dataset} {r['model']}"


def order(r):
    return (r.get("dataset", "mnist") != "mnist", ORDER.index(r["model"]) if r["model"] in ORDER else 99)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "out/quality"
    results = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(root, "*", "result.json")))]
    if not results:
        raise SystemExit(f"no result.json under {root}: run bench/compare_quality.sh MODEL [SEED] first")
    results.sort(key=lambda r: (order(r), r.get("dataset", "mnist"), r["seed"]))
    print("| model | seed | library | recipe | iterations | train s | FID | IS | confident | classes | "
          "rarest class | frame mean | nearest 8 / test 8s' |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    fids = defaultdict(lambda: defaultdict(list))
    orders = {}
    for r in results:
        orders[name(r)] = order(r)
        for lib, library in (("tinygan", "tinygan"), ("torch", "PyTorch")):
            s = r[lib]["score"]
            fids[name(r)][lib].append(s["fid"])
            recipe = (r.get("args") or "docs/models.md") if lib == "tinygan" else "docs/models.md"
            inverted = r["model"] == "inverted"
            frame = f"{s['frame_mean']:.3f}" if inverted and "frame_mean" in s else "-"
            nearest = (f"{s['nearest_train_distance'] / s['test_nearest_train_distance']:.2f}"
                       if inverted and "nearest_train_distance" in s else "-")
            rarest = "-" if inverted else f"{100 * min(s['histogram']):.1f}%"
            print(f"| {name(r)} | {r['seed']} | {library} | {recipe} | {r[lib].get('iterations', r['iterations'])} | "
                  f"{r[lib]['seconds']:.0f} | {s['fid']:.2f} | {s['inception_score']:.2f} | "
                  f"{100 * s['confident_share']:.1f}% | {s['classes_covered']} | {rarest} | {frame} | {nearest} |")
    print()
    print("| model | seeds | tinygan mean FID | PyTorch mean FID | tinygan at least as good |")
    print("|---|---:|---:|---:|---|")
    for model in sorted(fids, key=lambda m: (orders[m], m)):
        t, p = fids[model]["tinygan"], fids[model]["torch"]
        mt, mp = sum(t) / len(t), sum(p) / len(p)
        print(f"| {model} | {len(t)} | {mt:.2f} | {mp:.2f} | {'yes' if mt <= mp else 'no'} |")


if __name__ == "__main__":
    main()

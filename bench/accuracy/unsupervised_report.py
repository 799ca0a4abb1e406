#!/usr/bin/env python3
"""Markdown table of unsupervised_table.sh's results: per feature folder and bit length,
each method's mAP@K (tie-aware at K) and neighbour recall, mean +- spread over seeds."""
import glob
import json
import os
import re
import statistics
import sys

METHODS = ["greedyhash", "itq", "pca", "lsh"]
NAME = re.compile(r"(\w+)_(\d+)bit_seed(\d+)\.json$")


def cell(values):
    if not values:
        return "-"
    if len(values) == 1:
        return "%.3f" % values[0]
    return "%.3f ± %.3f" % (statistics.mean(values), statistics.pstdev(values))


def main(out):
    for folder in sorted(os.listdir(out)):
        results = {}
        for path in glob.glob(os.path.join(out, folder, "*.json")):
            match = NAME.search(os.path.basename(path))
            if not match:
                continue
            method, bit, _ = match.group(1), int(match.group(2)), match.group(3)
            with open(path) as f:
                results.setdefault((bit, method), []).append(json.load(f))
        if not results:
            continue
        print("\n**%s**\n" % folder)
        print("| bits | method | seeds | mAP@1000 | tie-aware | 10-NN in top 10 | "
              "10-NN in top 100 | 100-NN in top 1000 |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for bit in sorted({b for b, _ in results}):
            for method in METHODS:
                runs = results.get((bit, method), [])
                if not runs:
                    continue
                def recall(k, r):
                    return [next(x["recall_at"][r] for x in run["neighbour_recall"]
                                 if x["k"] == k) for run in runs]
                print("| %d | %s | %d | %s | %s | %s | %s | %s |" % (
                    bit, method, len(runs), cell([r["map"] for r in runs if "map" in r]),
                    cell([r.get("map_tie_aware_top_k", r.get("map_tie_aware")) for r in runs
                          if "map" in r]),
                    cell(recall(10, "10")), cell(recall(10, "100")), cell(recall(100, "1000"))))


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env bash
# The effect of each recipe switch on sample quality: one training run per
# switch (docs/models.md's recipe, each switch alone, and --recipe best), two runs
# at a time with one thread each, then a Markdown table of the FID at the end
# of each run and the lowest one, read from each run's metrics.csv.
#
#   bench/compare_recipes.sh OUT_DIR PROGRAM [ARGS...]
#   e.g. bench/compare_recipes.sh out/recipes-dcgan build/examples/mnist_dcgan --epochs 1
#
# VARIANTS="models ema ..." picks the variants (also ls-ema, g-loss-bce and,
# for mnist_inverted, pixel-loss-1/10/100); runs whose metrics.csv exists are
# not run again (delete the folder to redo one).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR PROGRAM [ARGS...]" >&2
  exit 2
fi
out=$1
program=$2
shift 2
declare -A switches=(
  [models]=""
  [label-smoothing]="--label-smoothing 0.1"
  [ema]="--ema 0.999"
  [d-logits]="--d-logits"
  [d-steps-2]="--d-steps 2"
  [reuse-fakes]="--reuse-fakes"
  [ttur]="--lr-g 1e-4 --lr-d 4e-4"
  [ls-ema]="--label-smoothing 0.1 --ema 0.999"
  [g-loss-bce]="--g-loss bce"
  [pixel-loss-1]="--pixel-loss 1"
  [pixel-loss-10]="--pixel-loss 10"
  [pixel-loss-100]="--pixel-loss 100"
  [best]="--recipe best"
)
variants=${VARIANTS:-"models label-smoothing ema d-logits d-steps-2 reuse-fakes ttur best"}
mkdir -p "$out"

run_variant() {
  local name=$1
  shift
  # shellcheck disable=SC2086  # the switches are words
  if "$program" "$@" ${switches[$name]} --threads 1 --out "$out/$name" > "$out/$name.log" 2>&1; then
    echo "$name: done"
  else
    echo "$name: failed, see $out/$name.log" >&2
  fi
}

for name in $variants; do
  [ -n "${switches[$name]+set}" ] || { echo "$0: unknown variant '$name'" >&2; exit 2; }
  [ -f "$out/$name/metrics.csv" ] && [ -f "$out/$name/generator.safetensors" ] && continue
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
  run_variant "$name" "$@" &
done
wait

echo
echo "| recipe | switches | FID at the end | lowest FID (iteration) | IS at the end | digits covered | rarest digit at the end | rarest digit, worst score after the first | training seconds |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for name in $variants; do
  csv="$out/$name/metrics.csv"
  [ -f "$csv" ] || { echo "| $name | ${switches[$name]} | failed | | | | | | |"; continue; }
  awk -F, -v name="$name" -v sw="${switches[$name]:--}" 'NR > 1 {
      if (best == "" || $4 < best) { best = $4; at = $2 }
      if (NR > 2 && (worst == "" || $8 < worst)) worst = $8
      last = $4; is = $5; classes = $7; rarest = $8; seconds = $3
    } END { printf "| %s | %s | %.2f | %.2f (%d) | %.2f | %d/10 | %.1f%% | %s | %.0f |\n", name, sw, last, best, at, is,
            classes, 100 * rarest, worst == "" ? "-" : sprintf("%.1f%%", 100 * worst), seconds }' "$csv"
done

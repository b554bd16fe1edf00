#!/usr/bin/env bash
# Trains one of the five MNIST GANs in tinygan and its PyTorch twin
# (bench/torch_twin.py) with docs/models.md's settings for the same number of
# iterations, side by side on one thread each, and scores both with
# tinygan-score on 10,000 samples (model 5: its outputs for the test set's 8s,
# inverted back and compared with the test 8s).
#
#   bench/compare_quality.sh MODEL [SEED]     MODEL: dcgan dense dense-bn minimal inverted
#
# Environment: DATASET (mnist, the default, or fashion-mnist: the dcgan only,
# tinygan's image_dcgan at 28x28 grey, the same network as mnist_dcgan, scored
# with assets/fashion-mnist_classifier.safetensors on Debian's Fashion-MNIST),
# ITERS (default: docs/models.md's length), MINUTES (train each for
# this long instead: equal wall time), TINYGAN_ARGS (more flags for tinygan,
# e.g. "--recipe best"), OUT (default out/quality/MODEL-seedSEED; for
# Fashion-MNIST out/quality/fashion-mnist-MODEL-seedSEED), BUILD (default
# build), REUSE_TWIN=1 (keep the twin's earlier run in OUT/torch when only
# tinygan changed), THREADS (default 1: both run at once, one thread each;
# above 1: one after the other, each with that many threads, PyTorch's BLAS
# single-threaded, its fastest setting on this machine), CONDITIONAL (KIND:
# projection or channels; the dcgan only: image_dcgan --conditional KIND and
# the twin's --conditional KIND, both scored with --asked, so the rows add
# the class accuracy; OUT gains -cKIND). Prints one table
# row and writes OUT/result.json. Needs a built tree (scripts/setup.sh), Debian's
# python3-torch and MNIST in data/mnist (or Fashion-MNIST in
# /usr/share/datasets/fashion-mnist: apt-get install dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:?usage: bench/compare_quality.sh MODEL [SEED]}
seed=${2:-42}
dataset=${DATASET:-mnist}
build=${BUILD:-build}
samples=10000

case $model in
  dcgan) program=(mnist_dcgan) ;;
  dense | dense-bn | minimal) program=(mnist_dense --model "$model") ;;
  inverted) program=(mnist_inverted) ;;
  *) echo "compare_quality.sh: unknown model '$model' (dcgan, dense, dense-bn, minimal, inverted)" >&2; exit 2 ;;
esac
length=()
[[ -n ${ITERS:-} ]] && length=(--iters "$ITERS")
[[ -n ${MINUTES:-} ]] && length+=(--minutes "$MINUTES")
score=("$build/examples/tinygan-score" --json --no-fetch)
case $dataset in
  mnist) out=${OUT:-out/quality/$model-seed$seed} ;;
  fashion-mnist)
    [[ $model == dcgan ]] || {
      echo "compare_quality.sh: DATASET=fashion-mnist takes the dcgan model only (image_dcgan), not '$model'" >&2
      exit 2
    }
    out=${OUT:-out/quality/fashion-mnist-$model-seed$seed}
    # --fid-samples 0: image_dcgan would score every 500 iterations, in the
    # training time; this script scores the final samples itself.
    program=(image_dcgan --dataset fashion-mnist --fid-samples 0)
    # One epoch (937 iterations) unless told otherwise, as mnist_dcgan and the
    # twin train by default; image_dcgan's own default is 2,000.
    ((${#length[@]})) || length=(--iters 937)
    classifier=assets/fashion-mnist_classifier.safetensors
    [[ -f $classifier ]] || {  # before training, not after
      echo "compare_quality.sh: no $classifier to score the samples with (image_classifier trains it)" >&2
      exit 1
    }
    score+=(--classifier "$classifier")
    ;;
  *) echo "compare_quality.sh: unknown DATASET '$dataset' (mnist, fashion-mnist)" >&2; exit 2 ;;
esac
conditional=${CONDITIONAL:-}
twin_flags=()
if [[ -n $conditional ]]; then
  [[ $model == dcgan ]] || {
    echo "compare_quality.sh: CONDITIONAL takes the dcgan model only (image_dcgan), not '$model'" >&2
    exit 2
  }
  [[ -n ${OUT:-} ]] || out=$out-c$conditional
  # image_dcgan is mnist_dcgan's network and recipes with a data set to
  # choose; --fid-samples 0 as above: the script scores the final samples.
  [[ ${program[0]} == image_dcgan ]] || program=(image_dcgan --dataset mnist --fid-samples 0)
  program+=(--conditional "$conditional")
  twin_flags=(--conditional "$conditional")
fi
read -r -a extra <<<"${TINYGAN_ARGS:-}"
[[ $model == inverted ]] && score+=(--invert --digits 8 --nearest)
mkdir -p "$out"

# By default both trainings run at once, one thread each: the machine has
# two cores. With more threads each, they run one after the other.
threads=${THREADS:-1}
train_tinygan() {
  "$build/examples/${program[0]}" "${program[@]:1}" "${length[@]}" "${extra[@]}" --seed "$seed" --threads "$threads" \
    --out "$out/tinygan" >"$out/tinygan.log" 2>&1
  "$build/examples/${program[0]}" "${program[@]:1}" --load "$out/tinygan/generator.safetensors" \
    --generate "$samples" --export-samples "$out/tinygan/samples.npy" --out "$out/tinygan/generated" \
    --threads "$threads" >>"$out/tinygan.log" 2>&1
}
tinygan_failed() { echo "compare_quality.sh: tinygan failed; see $out/tinygan.log" >&2; exit 1; }
tinygan_pid=
if ((threads > 1)); then
  train_tinygan || tinygan_failed
else
  train_tinygan &
  tinygan_pid=$!
fi
if [[ ${REUSE_TWIN:-0} == 1 && -f $out/torch/samples.npy ]]; then
  echo "compare_quality.sh: reusing the PyTorch twin's run in $out/torch" >&2
else
  OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_twin.py --model "$model" \
    --dataset "$dataset" "${twin_flags[@]}" "${length[@]}" --seed "$seed" \
    --threads "$threads" --samples "$samples" --out "$out/torch" >"$out/torch.log" 2>&1 || {
    echo "compare_quality.sh: the PyTorch twin failed; see $out/torch.log" >&2; exit 1; }
fi
[[ -z $tinygan_pid ]] || wait "$tinygan_pid" || tinygan_failed

tinygan_asked=() torch_asked=()  # the class each sample was asked for
[[ -z $conditional ]] || tinygan_asked=(--asked "$out/tinygan/generated/generated_labels.npy") \
  torch_asked=(--asked "$out/torch/labels.npy")
tinygan_score=$("${score[@]}" "${tinygan_asked[@]}" "$out/tinygan/samples.npy")
torch_score=$("${score[@]}" "${torch_asked[@]}" "$out/torch/samples.npy")
tinygan_seconds=$(tail -n 1 "$out/tinygan/losses.csv" | awk -F, '{print $NF}')
torch_seconds=$(tail -n 1 "$out/torch/log.csv" | awk -F, '{print $NF}')
tinygan_iterations=$(tail -n 1 "$out/tinygan/losses.csv" | cut -d, -f1)
torch_iterations=$(tail -n 1 "$out/torch/log.csv" | cut -d, -f1)
printf '{"model": "%s", "dataset": "%s", "conditional": "%s", "seed": %s, "args": "%s", "iterations": %s,\n "tinygan": {"seconds": %s, "iterations": %s, "score": %s},\n "torch": {"seconds": %s, "iterations": %s, "score": %s}}\n' \
  "$model" "$dataset" "$conditional" "$seed" "${TINYGAN_ARGS:-}" "$torch_iterations" "$tinygan_seconds" "$tinygan_iterations" "$tinygan_score" \
  "$torch_seconds" "$torch_iterations" "$torch_score" >"$out/result.json"
/usr/bin/python3 - "$out/result.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
def row(name):
    s = r[name]["score"]
    model = r["model"] if r["dataset"] == "mnist" else f"{r['dataset']} {r['model']}"
    model = f"c{model}" if r["conditional"] else model
    return (f"{model:<9} seed {r['seed']:<3} {r[name]['iterations']:>6} its  {name:<8} {r[name]['seconds']:>7.0f} s  "
            f"FID {s['fid']:>7.2f}  IS {s['inception_score']:.2f}  confident {100 * s['confident_share']:5.1f}%  "
            f"classes {s['classes_covered']}"
            + (f"  asked {100 * s['class_accuracy']:5.1f}%" if "class_accuracy" in s else ""))
print(row("tinygan"))
print(row("torch"))
EOF

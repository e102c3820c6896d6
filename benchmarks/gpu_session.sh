#!/usr/bin/env bash
# Every GPU figure quoted for issue 5, in one call on a lent GPU machine (run from the repo root):
#     OUT=/some/folder DEADLINE_S=520 bash benchmarks/gpu_session.sh
# Sections run most-needed first; each is cut at its own cap and at the overall deadline, so a slow
# one costs the later ones, never the whole call. Logs and JSON lines go to $OUT.
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-session}
DEADLINE_S=${DEADLINE_S:-520}
PY=${PY:-python3}
CAP_MAX=${CAP_MAX:-600}  # lower only to try the script out: every section cut short
DEVICE=${DEVICE:-cuda}  # cpu only to try the script out
IMAGES=${IMAGES:-50000}  # CIFAR-10's training set; fewer only to try the script out
DATA=/tmp/cifar-full
mkdir -p "$OUT"
start=$(date +%s)

section() {  # section NAME CAP_S COMMAND...: run COMMAND under min(CAP_S, time left), log to $OUT/NAME.log
    local name=$1 cap=$2
    shift 2
    local left=$((DEADLINE_S - ($(date +%s) - start)))
    ((left < cap)) && cap=$left
    ((CAP_MAX < cap)) && cap=$CAP_MAX
    if ((cap < 5)); then
        echo "== $name: skipped, deadline reached" | tee -a "$OUT/summary.txt"
        return
    fi
    echo "== $name (cap ${cap}s, t=$(($(date +%s) - start))s)"
    local began=$(date +%s%N)
    timeout "$cap" "$@" >"$OUT/$name.log" 2>&1
    local rc=$? ms=$((($(date +%s%N) - began) / 1000000))
    pkill -9 -f multiprocessing.spawn  # a section cut short can leave spawned workers holding the GPU
    echo "== $name: rc $rc, $((ms / 1000)).$((ms % 1000 / 100)) s" | tee -a "$OUT/summary.txt"
    tail -n 25 "$OUT/$name.log"
}

sample_gpu() {  # memory per process and utilisation while the coursework runs
    while true; do
        nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader >>"$OUT/gpu_usage.csv"
        nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader >>"$OUT/gpu_apps.csv"
        sleep 2
    done
}

section env 20 bash -c "nvidia-smi; nproc; $PY -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name())'"
section data 60 $PY -c "from harness import synthetic; synthetic.write_cifar10('$DATA', $IMAGES, 10000)"
section aug_tests_cuda 60 $PY -m pytest tests/test_batched_augment.py -q -k cuda -p no:cacheprovider
section baseline_40_epochs 160 $PY benchmarks/gpu_runs.py "$DATA" cw_baseline --device "$DEVICE"
for variant in eager graph; do
    for precision in fp32 bf16; do
        section "step_${variant}_${precision}" 45 $PY benchmarks/gpu_step.py "$variant" "$DATA" --precision "$precision" --device "$DEVICE"
    done
done
for variant in eager graph; do  # the same without augmentation: what the batched transforms cost on the GPU
    section "step_${variant}_fp32_noaug" 30 $PY benchmarks/gpu_step.py "$variant" "$DATA" --case cifar_cnn --device "$DEVICE"
done
section runs_at_once 90 $PY -m harness bench cifar_cnn_aug --runs-at-once --device "$DEVICE" --images 5000 --repeats 1
sample_gpu &
sampler=$!
section coursework_jobs10 220 $PY -m harness reference run cw_baseline cw_aug1 cw_aug2 cw_dropout cw_batchnorm \
    cw_bn_dropout cw_zeros_init cw_sgd_3e-3 cw_sgd_1e-3 cw_sgd_3e-4 --profile full --device "$DEVICE" --data-root "$DATA" \
    --no-download --jobs 10 --store /tmp/coursework.db --html ""
kill "$sampler"
section bench_cuda 80 $PY -m harness bench --device "$DEVICE" --images 10000 --repeats 2
section step_compile_fp32 120 $PY benchmarks/gpu_step.py compile "$DATA" --device "$DEVICE"
section step_reduce_overhead_fp32 120 $PY benchmarks/gpu_step.py reduce-overhead "$DATA" --device "$DEVICE"
echo "== done at t=$(($(date +%s) - start))s"
cat "$OUT/summary.txt"

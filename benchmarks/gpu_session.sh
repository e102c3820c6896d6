#!/usr/bin/env bash
# The GPU figures quoted for issue 5, in one call on a lent GPU machine (run from the repo root):
#     OUT=/some/folder DEADLINE_S=520 bash benchmarks/gpu_session.sh [SECTION...]
# Sections (default: all, in this order, most-needed first): setup data tests streams baseline steps
# compile runs_at_once runs_at_once_mps coursework all_at_once mps_harness mps streams_mps grading bench. Each
# is cut at its own cap and at the overall deadline, so a slow one costs the later ones, never the whole call.
# Logs and JSON lines go to $OUT. BWRAP=path: a bubblewrap binary for `setup` to install where the machine has none.
# Narrowing a section: STEP_CASES, STEP_VARIANTS (steps); STREAMS_CASES, STREAMS_RUNS, STREAMS_LAYOUTS,
# STREAMS_CAP (streams, streams_mps); JOBS, TOGETHER (coursework, grading); MPS=1 (coursework, runs_at_once).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu-session}
DEADLINE_S=${DEADLINE_S:-520}
PY=${PY:-python3}
CAP_MAX=${CAP_MAX:-600}  # lower only to try the script out: every section cut short
DEVICE=${DEVICE:-cuda}   # cpu only to try the script out
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
    # timeout signals its whole process group, so a section cut short takes its spawned workers with it
    timeout --kill-after=5 "$cap" "$@" >"$OUT/$name.log" 2>&1
    local rc=$? ms=$((($(date +%s%N) - began) / 1000000))
    echo "== $name: rc $rc, $((ms / 1000)).$((ms % 1000 / 100)) s" | tee -a "$OUT/summary.txt"
    tail -n 25 "$OUT/$name.log"
}

sample_gpu() {  # memory per process and utilisation while runs share the GPU
    while true; do
        nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader >>"$OUT/gpu_usage.csv"
        nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader >>"$OUT/gpu_apps.csv"
        sleep 2
    done
}

setup() {  # a bare GPU machine: harness importable by the sandbox's `python -I` children, and bubblewrap
    $PY -I -c "import harness" 2>/dev/null ||
        $PY -c "import os, site; open(os.path.join(site.getsitepackages()[0], 'nt-harness.pth'), 'w').write(os.getcwd() + '\\n')"
    command -v bwrap >/dev/null || { [ -n "${BWRAP:-}" ] && install -m 755 "$BWRAP" /usr/local/bin/bwrap; }
    echo "== setup: harness $($PY -I -c 'import harness; print(harness.__file__)' 2>&1 | tail -n 1)," \
        "bwrap $(command -v bwrap || echo missing), $(nvidia-smi -L 2>&1 | head -n 1)" | tee -a "$OUT/summary.txt"
}

data() {
    section data 60 $PY -c "from harness import synthetic; synthetic.write_cifar10('$DATA', $IMAGES, 10000)"
}

tests() {  # what only a GPU can check: graph replay against eager steps, batched augmentation on CUDA, the sandbox
    # passing the GPU, runs under the harness's MPS daemon
    section tests 120 $PY -m pytest tests/engine/test_steps.py tests/engine/test_batched_augment.py tests/integration/test_isolation.py \
        tests/engine/test_mps.py -q -k "cuda or step or gpu" \
        -p no:cacheprovider -rs
}

streams() {  # K runs sharing the GPU: K processes (time slices) against K CUDA streams in one process
    for case in ${STREAMS_CASES:-cifar_cnn cifar_cnn_aug}; do
        section "streams${1:-}_$case" "${STREAMS_CAP:-150}" $PY benchmarks/gpu_streams.py "$DATA" --case "$case" \
            --runs "${STREAMS_RUNS:-1,4,8}" --layouts "${STREAMS_LAYOUTS:-processes,threads,round-robin,together}" \
            --device "$DEVICE"
    done
}

baseline() {  # the 40-epoch coursework baseline, full CIFAR-10-sized data
    section baseline 160 $PY -m harness reference run cw_baseline --profile full --device "$DEVICE" --data-root "$DATA" \
        --no-download --store /tmp/baseline.db --html "" --force
}

steps() {  # a step's cost: replayed from a CUDA graph (the trainer's way) or op by op
    for case in ${STEP_CASES:-cifar_cnn_aug cifar_cnn}; do
        for variant in ${STEP_VARIANTS:-graph eager}; do
            section "step_${variant}_${case}" 45 $PY benchmarks/gpu_step.py "$variant" "$DATA" --case "$case" \
                --device "$DEVICE"
        done
    done
}

compile() {
    for variant in compile reduce-overhead; do
        section "step_${variant}" 120 $PY benchmarks/gpu_step.py "$variant" "$DATA" --case cifar_cnn --device "$DEVICE"
    done
}

runs_at_once() {  # `harness bench --runs-at-once` on the GPU: 1, 2, 4, ... runs sharing it; MPS=1: under MPS
    sample_gpu &
    local sampler=$!
    section "runs_at_once${MPS:+_mps}" 90 $PY -m harness bench cifar_cnn_aug --runs-at-once --device "$DEVICE" \
        --images 2000 --repeats 1 ${MPS:+--mps}
    kill "$sampler"
}

runs_at_once_mps() {
    MPS=1 runs_at_once
}

coursework() {  # every run of a submission's coursework, the reference's model and augmentation; JOBS=N: processes
    # at once; TOGETHER=K: runs taking turns in each (JOBS and TOGETHER unset: 331 s on an H200 while batch
    # preparation waited for the GPU; on an H100 without the waits, 7 of the 10 runs ended within 150 s)
    section "${1:-coursework}" 420 $PY -m harness reference run cw_baseline cw_aug1 cw_aug2 cw_dropout cw_batchnorm \
        cw_bn_dropout cw_zeros_init cw_sgd_3e-3 cw_sgd_1e-3 cw_sgd_3e-4 --profile full --device "$DEVICE" \
        --data-root "$DATA" --no-download --store "/tmp/${1:-coursework}.db" --html "" --force ${JOBS:+--jobs $JOBS} \
        ${TOGETHER:+--together $TOGETHER} ${MPS:+--mps}
}

mps_harness() {  # the coursework with `reference run --mps`: the harness starts and stops its own MPS daemon, and
    # by default runs all ten at once
    sample_gpu &
    local sampler=$!
    MPS=1 coursework coursework_mps_harness
    kill "$sampler"
}

all_at_once() {  # the ten runs started together: by default 8 start and the last two wait for a slot, which on an
    # H100 left them still training when the first seven had ended (121-150 s)
    JOBS=10 coursework coursework_all_at_once
}

with_mps() {  # with_mps COMMAND...: COMMAND under NVIDIA's MPS, which lets kernels of several processes run side
    # by side (without it they take the GPU in time slices); the daemon is stopped afterwards
    command -v nvidia-cuda-mps-control >/dev/null || { echo "== mps: nvidia-cuda-mps-control not installed" |
        tee -a "$OUT/summary.txt"; return; }
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    nvidia-cuda-mps-control -d || { echo "== mps: the daemon did not start" | tee -a "$OUT/summary.txt"; return; }
    sample_gpu &
    local sampler=$!
    "$@"
    kill "$sampler"
    echo quit | nvidia-cuda-mps-control
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
}

mps() {  # the coursework as processes under MPS
    with_mps coursework coursework_mps
}

streams_mps() {  # K processes under MPS against K processes in time slices (run `streams` for those)
    with_mps streams _mps
}

grading() {  # a whole submission through the grader on the GPU: sandboxed, the ten full-profile runs, no claims
    rm -rf /tmp/gpu-sub && mkdir -p /tmp/gpu-sub && cp -r submissions/correct /tmp/gpu-sub/correct
    $PY -c "import pathlib; p = pathlib.Path('/tmp/gpu-sub/correct/manifest.toml'); t = p.read_text(); p.write_text(t[:t.index('[claims]')])"
    sample_gpu &
    local sampler=$!
    section grading 500 $PY -m harness check /tmp/gpu-sub/correct --profile full --device "$DEVICE" --data-root "$DATA" \
        --no-download --store /tmp/grading.db --html-dir /tmp/grading ${JOBS:+--jobs $JOBS}
    kill "$sampler"
}

bench() {
    section bench 90 $PY -m harness bench --device "$DEVICE" --images 5000 --repeats 1
}

ALL="setup data tests streams baseline steps compile runs_at_once runs_at_once_mps coursework all_at_once mps_harness
    mps streams_mps grading bench"
for name in "${@:-$ALL}"; do
    for each in $name; do "$each"; done
done
echo "== done at t=$(($(date +%s) - start))s"
cat "$OUT/summary.txt"

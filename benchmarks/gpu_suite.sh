#!/usr/bin/env bash
# Every GPU figure the README's speed table asks for, in one go (about 10 minutes on one
# H100/H200 with 16 cores). Writes each benchmark's output to ${OUT:-bench_out}/.
#   bash benchmarks/gpu_suite.sh
# On a machine without visionseg's dependencies, put their wheels in .wheels/ first, e.g.
#   pip download -d .wheels --python-version 3.12 --only-binary=:all: \
#       segmentation-models-pytorch albumentations==2.0.8 hydra-core kmodes gower pycocotools
set -uo pipefail
out="${OUT:-bench_out}"
mkdir -p "$out"
if [ -d .wheels ]; then
    python3 -m pip install -q --no-index --find-links .wheels --no-deps .wheels/*.whl \
        >"$out/pip.txt" 2>&1
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" NO_ALBUMENTATIONS_UPDATE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt" 2>&1
run() {  # name, timeout seconds, command...
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*" | tee -a "$out/summary.txt"
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    echo "exit $?" >>"$out/$name.txt"
    grep -E "^device|ratio|images/s|megapixels/s|^  " "$out/$name.txt" | tee -a "$out/summary.txt"
}
run train 240 python3 -m benchmarks.train_throughput --device cuda --size 512 --batch 16 \
    --steps 40 --warmup 5 --workers 8 --images 256 --rounds 2
run train_compile 180 python3 -m benchmarks.train_throughput --device cuda --size 512 \
    --batch 16 --steps 40 --warmup 10 --workers 8 --images 256 --rounds 1 --compile
run infer 120 python3 -m benchmarks.infer_throughput --device cuda --size 2048 --images 16 \
    --tile 512 --batch 8 --encoder resnet34 --rounds 2
run optimizer 60 python3 -m benchmarks.optimizer_step --device cuda

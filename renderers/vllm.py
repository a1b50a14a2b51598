"""The vLLM container of a model, rendered from its ``ModelPlan`` (pure, no Pulumi): ``vllm serve``
arguments, the environment of a UID without a passwd entry, and the preStop drain command.

``components/vllm_model.py`` builds the Deployment with these; the figures come from ``sizing``.
"""

from __future__ import annotations

from sizing import drain
from sizing.deployments import ModelPlan
from sizing.workloads import VLLM_PORT

# --- runtime arguments --------------------------------------------------------------------------------


# The container's command: it replaces the image's ENTRYPOINT (``["vllm", "serve"]`` in vLLM's
# docker/Dockerfile, vllm-openai stage), so the pod runs the same program whatever the image says.
VLLM_COMMAND = ("vllm", "serve")


def vllm_args(plan: ModelPlan) -> list[str]:
    """``vllm serve`` arguments carrying every derived figure: the model first, as the positional
    ``model_tag``. vLLM v0.11.0's parser refuses ``serve --model <id>`` (``FlexibleArgumentParser
    .parse_args``, vllm/utils/__init__.py:1861 in the wheel); later releases only warn and serve their
    default model instead. Run by the contract tier (docs/contract-tier.md) on vLLM's own parser."""
    s = plan.sizing
    args = [
        plan.hf_id,
        "--served-model-name",
        plan.config.name,
        "--dtype",
        plan.dtype,
        "--max-model-len",
        str(s.max_model_len),
        "--max-num-seqs",
        str(s.max_num_seqs),
        "--gpu-memory-utilization",
        f"{s.gpu_memory_utilization:.2f}",
        "--tensor-parallel-size",
        str(s.gpus_per_replica),
        "--port",
        str(VLLM_PORT),
    ]
    if plan.config.quantization != "auto":
        args += ["--quantization", QUANTIZATION_FLAGS.get(plan.config.quantization, plan.config.quantization)]
    return args  # weights streamed from Blob: renderers.model_weights.stream_args swaps the model for az://


# vLLM's name for each quantization setting where it differs: online FP8 of an unquantized checkpoint is
# `fp8_per_tensor` in v0.31.0 (`--quantization fp8` still works there but is deprecated and resolved to
# it: vllm/model_executor/model_loader/weight_utils.py:342-348 in the wheel).
QUANTIZATION_FLAGS = {"fp8": "fp8_per_tensor"}


# --- the preStop drain --------------------------------------------------------------------------------

# The preStop hook: the image has Python 3.12 as /usr/bin/python3 (docker/Dockerfile of the v0.31.0
# sdist, lines 26 and 810-811: update-alternatives; facts/vllm_image.py), not necessarily curl or wget,
# so the hook is `python3 -c` with the standard library only. argv: settle seconds, drain bound seconds,
# metrics URL, poll seconds. It sleeps first (endpoints drop the terminating pod), then reads vLLM's
# Prometheus text and sums every `vllm:num_requests_running` sample (one per engine,
# vllm/v1/metrics/loggers.py) until it reads 0 or the bound passes; if the server no longer answers,
# nothing is running and it returns at once. The hook never fails the pod: it always exits 0.
PRESTOP_SCRIPT = """\
import sys, time, urllib.request
settle, bound, url, poll = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
time.sleep(settle)
deadline = time.monotonic() + bound
while time.monotonic() < deadline:
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except Exception:
        break
    running = sum(float(line.split()[-1]) for line in text.splitlines()
                  if line.startswith("vllm:num_requests_running"))
    if running <= 0:
        break
    time.sleep(poll)
"""
METRICS_URL = f"http://127.0.0.1:{VLLM_PORT}/metrics"


def prestop_command(plan: ModelPlan) -> list[str]:
    """The vLLM container's ``preStop`` exec command (see ``sizing.drain`` for the timing)."""
    return [
        "python3",
        "-c",
        PRESTOP_SCRIPT,
        str(drain.PRESTOP_SETTLE_SECONDS),
        str(drain.prestop_bound_seconds(plan.config)),
        METRICS_URL,
        str(drain.PRESTOP_POLL_SECONDS),
    ]


# --- the container's environment (one place: it must survive image upgrades) -----------------------

# The container runs as VLLM_UID/VLLM_GID, which have no passwd entry in the image (its own `vllm` user
# is UID 2000, facts/vllm_image.py), on a read-only root filesystem. Every lookup of "who am I" and
# "where may I write" must resolve from the environment:
# - getpass.getuser() reads LOGNAME, USER, LNAME, USERNAME before pwd.getpwuid() (CPython
#   Lib/getpass.py), which raises KeyError for a uid without an entry; torch 2.8.0's default_cache_dir()
#   let that KeyError through at import (pytorch/pytorch#140765, vllm-project/vllm#44548, #46734);
#   torch 2.13.0 (vLLM v0.31.0's) catches it (torch/_inductor/runtime/cache_dir_utils.py:24-29) and
#   falls back to uid_<n>, but other readers of the user name remain, so USER/LOGNAME stay set;
# - torch's cache_dir() and triton_cache_dir() honour TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR;
#   Triton's own default is under HOME (~/.triton);
# - vLLM's VLLM_CACHE_ROOT and VLLM_CONFIG_ROOT default to XDG_CACHE_HOME/vllm and
#   XDG_CONFIG_HOME/vllm (vllm/envs.py), Hugging Face's caches to HF_HOME;
# - tempfile.gettempdir() (torch's default, vLLM's IPC sockets) reads TMPDIR.
VLLM_UID = VLLM_GID = 10001  # non-root, above 10000 (no clash with a host user; Checkov CKV_K8S_40)
VLLM_USER = "vllm"
CACHE_MOUNT = "/models"  # HF_HOME: the hub cache (weights) lives on the shared NFS volume
COMPILE_CACHE = f"{CACHE_MOUNT}/compile-cache"  # vLLM/torch/triton compile caches, kept across replicas
HOME = "/home/vllm"  # writable HOME on an emptyDir
TMP = "/tmp"
# Writable volumes of the pod (volume name -> mount path); the root filesystem is read-only.
WRITABLE_MOUNTS = {"model-cache": CACHE_MOUNT, "shm": "/dev/shm", "tmp": TMP, "home": HOME}
# The variables naming a directory the server writes to: each must lie under a writable mount.
CACHE_DIR_VARIABLES = (
    "HOME",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "HF_HOME",
    "VLLM_CACHE_ROOT",
    "VLLM_CONFIG_ROOT",
    "TORCHINDUCTOR_CACHE_DIR",
    "TRITON_CACHE_DIR",
    "TRITON_HOME",
    "NUMBA_CACHE_DIR",
    "TMPDIR",
)


def vllm_environment() -> dict[str, str]:
    """The vLLM container's environment (every path on a writable mount, a user name without passwd)."""
    cache = f"{HOME}/.cache"
    return {
        "USER": VLLM_USER,
        "LOGNAME": VLLM_USER,
        "HOME": HOME,
        "XDG_CACHE_HOME": cache,
        "XDG_CONFIG_HOME": f"{HOME}/.config",
        "HF_HOME": CACHE_MOUNT,
        # Compile and CUDA-graph caches on the model's persistent share (issue 24): a new replica loads
        # what the first compiled instead of compiling again (keyed by vLLM on config and versions).
        "VLLM_CACHE_ROOT": f"{COMPILE_CACHE}/vllm",
        "VLLM_CONFIG_ROOT": f"{HOME}/.config/vllm",
        "TORCHINDUCTOR_CACHE_DIR": f"{COMPILE_CACHE}/torchinductor",
        "TRITON_CACHE_DIR": f"{COMPILE_CACHE}/triton",
        "TRITON_HOME": HOME,
        "NUMBA_CACHE_DIR": f"{cache}/numba",
        "TMPDIR": TMP,
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }

"""Weights in Blob: the vLLM arguments that stream them, and the seeding Job's steps (pure, no Pulumi).

vLLM (``facts.vllm_runai``): ``vllm serve az://<container>/<model>/<revision> --load-format runai_streamer``
with ``--model-loader-extra-config`` (the streamer's ``concurrency`` and CPU-buffer ``memory_limit``,
docs.vllm.ai runai_model_streamer "Tunable parameters"), ``AZURE_STORAGE_ACCOUNT_NAME`` in the environment
and the pod labelled for workload identity.

The seeding Job, once per model and revision, three steps sharing one scratch volume:
1. ``check`` (azure-cli image): logs in with the pod's federated token; when the revision's marker blob
   ``<model>/<revision>/.seeded`` exists it writes ``skip`` and the other steps do nothing;
2. ``download`` (the pinned vLLM image, which ships ``huggingface_hub``): ``snapshot_download`` of the
   pinned revision into the scratch volume (resumable: a retried pod continues partial files), with
   ``HF_TOKEN`` from the Secret synced from Key Vault where the stack has one;
3. ``upload`` (azure-cli): ``az storage blob upload-batch --auth-mode login`` to ``<model>/<revision>/``,
   then the marker, last, so a half-finished seed is never taken for a finished one.
"""

from __future__ import annotations

import json

from facts import vllm_runai
from sizing.deployments import ModelPlan

HF_MODEL_ANNOTATION = "aks-llm/hf-model"  # <hub id>@<revision> on a pod that streams from az://
SEED_DIR = "/seed"
SKIP_FLAG = f"{SEED_DIR}/skip"
MARKER = ".seeded"
# What vLLM needs from a repository: weights, configs, tokenizer (no other formats' duplicates).
ALLOW_PATTERNS = ("*.safetensors", "*.json", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja")
STREAMER_CONCURRENCY_MAX = 64  # the streamer's default is 16; more readers help from object storage
STREAMER_BUFFER_FRACTION = 0.25  # of the pod's memory for the streamer's CPU buffer


def az_uri(plan: ModelPlan) -> str | None:
    """``az://<container>/<model>/<revision>`` where the model streams from Blob, else None."""
    w = plan.weights
    return f"az://{w.container}/{w.blob_path}" if w.blob_path is not None else None


def loader_config(cpu_milli: int, memory_gib: int) -> dict[str, int]:
    """The streamer's ``concurrency`` (one reader per vCPU of the pod, 16 to 64) and ``memory_limit``
    (bytes of CPU buffer: a quarter of the pod's memory)."""
    return {
        "concurrency": max(16, min(STREAMER_CONCURRENCY_MAX, cpu_milli // 1000)),
        "memory_limit": int(memory_gib * STREAMER_BUFFER_FRACTION) * 1024**3,
    }


def stream_args(plan: ModelPlan, args: list[str], cpu_milli: int, memory_gib: int) -> list[str]:
    """``args`` with the model pointed at Blob and the streamer's flags, where the model streams."""
    uri = az_uri(plan)
    if uri is None:
        return args
    out = [uri, *args[1:]]  # the positional model (renderers.vllm.vllm_args puts it first)
    config = json.dumps(loader_config(cpu_milli, memory_gib), separators=(",", ":"), sort_keys=True)
    return [*out, "--load-format", vllm_runai.LOAD_FORMAT, "--model-loader-extra-config", config]


# --- the seeding Job -------------------------------------------------------------------------------------

_LOGIN = (
    'az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" '
    '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions --output none'
)


def check_script(container: str, blob_path: str) -> str:
    """Step 1: ``skip`` when the revision's marker exists."""
    return (
        "set -eu\n"
        f"{_LOGIN}\n"
        f'found=$(az storage blob exists --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" '
        f"--container-name {container} --name {blob_path}/{MARKER} --query exists --output tsv)\n"
        f'if [ "$found" = "true" ]; then touch {SKIP_FLAG}; echo "{blob_path} already seeded"; fi\n'
    )


DOWNLOAD_SCRIPT = """\
import os, sys
from huggingface_hub import snapshot_download
repo, revision, target, patterns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
if os.path.exists(sys.argv[5]):
    sys.exit(0)
snapshot_download(repo_id=repo, revision=revision, local_dir=target, allow_patterns=patterns,
                  token=os.environ.get("HF_TOKEN") or None)
"""


def download_command(hf_id: str, revision: str, blob_path: str) -> list[str]:
    """Step 2: the pinned revision's files into ``/seed/<model>/<revision>``."""
    return [
        "python3",
        "-c",
        DOWNLOAD_SCRIPT,
        hf_id,
        revision,
        f"{SEED_DIR}/{blob_path}",
        ",".join(ALLOW_PATTERNS),
        SKIP_FLAG,
    ]


def upload_script(container: str, blob_path: str) -> str:
    """Step 3: every file, then the marker (last)."""
    return (
        "set -eu\n"
        f"if [ -f {SKIP_FLAG} ]; then exit 0; fi\n"
        f"{_LOGIN}\n"
        f'az storage blob upload-batch --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" '
        f"--destination {container} --destination-path {blob_path} --source {SEED_DIR}/{blob_path} "
        "--pattern '*' --overwrite true --output none\n"
        f'az storage blob upload --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" '
        f"--container-name {container} --name {blob_path}/{MARKER} --data seeded --overwrite true "
        "--output none\n"
    )

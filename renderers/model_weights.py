"""Weights in Blob: the vLLM arguments that stream them, and the seeding Job's steps (pure, no Pulumi).

vLLM (``facts.vllm_runai``): ``vllm serve az://<container>/<model>/<revision> --load-format runai_streamer``
with ``--model-loader-extra-config`` (the streamer's ``concurrency`` and CPU-buffer ``memory_limit``,
docs.vllm.ai runai_model_streamer "Tunable parameters"), ``AZURE_STORAGE_ACCOUNT_NAME`` in the environment
and the pod labelled for workload identity.

The seeding Job, once per model and revision, three steps sharing one scratch volume:
1. ``check`` (azure-cli image): removes a flag an earlier run left, logs in with the pod's federated
   token; when the revision's marker blob ``<model>/<revision>/.seeded`` exists it writes the revision's
   flag ``skip-<model>-<revision>`` and the other steps do nothing (the scratch share is the model's and
   outlives the Job: a flag of another revision, or of this one from before its blobs went, never counts);
2. ``download`` (the pinned vLLM image, which ships ``huggingface_hub``): ``snapshot_download`` of the
   pinned revision into the scratch volume (resumable: a retried pod continues partial files), with
   ``HF_TOKEN`` from the Secret synced from Key Vault where the stack has one; then the list of the
   revision's files and sizes (``<revision>.files``), without huggingface_hub's ``.cache/`` bookkeeping;
3. ``upload`` (azure-cli): each listed file ``az storage blob upload --auth-mode login`` to
   ``<model>/<revision>/`` unless a blob of that name and size is already there (a retry uploads only the
   rest), then the marker, last, so a half-finished seed is never taken for a finished one.

A Blob-streaming vLLM pod starts with ``wait_script`` (init container, the inference identity): it polls
the marker until it exists, and fails after a deadline derived from the seed's prediction, naming the Job.
"""

from __future__ import annotations

import json

from facts import vllm_runai
from sizing.deployments import ModelPlan

HF_MODEL_ANNOTATION = "aks-llm/hf-model"  # <hub id>@<revision> on a pod that streams from az://
SEED_DIR = "/seed"
MARKER = ".seeded"
# huggingface_hub's bookkeeping in a ``local_dir`` download (``.cache/huggingface/download/*.metadata``,
# ``*.lock``, ``*.incomplete``): huggingface_hub 1.33.0 ``_local_folder.py``:20-22, 93-95, 249-250, 445-448.
HF_LOCAL_CACHE = ".cache"
WAIT_INTERVAL_SECONDS = 20
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


def skip_flag(blob_path: str, seed_dir: str = SEED_DIR) -> str:
    """The file on the model's scratch share that tells steps 2 and 3 this revision is already seeded."""
    return f"{seed_dir}/skip-{blob_path.replace('/', '-')}"


def check_script(container: str, blob_path: str, seed_dir: str = SEED_DIR) -> str:
    """Step 1: the revision's skip flag when its marker exists, and only then."""
    flag = skip_flag(blob_path, seed_dir)
    return (
        "set -eu\n"
        f"rm -f {flag}\n"
        f"{_LOGIN}\n"
        f'found=$(az storage blob exists --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" '
        f"--container-name {container} --name {blob_path}/{MARKER} --query exists --output tsv)\n"
        f'if [ "$found" = "true" ]; then touch {flag}; echo "{blob_path} already seeded"; fi\n'
    )


# The revision's files as "<relative path>\t<bytes>" lines, sorted, without huggingface_hub's bookkeeping:
# what the upload step sends (a function of its own so the tests run it on a directory tree).
LIST_FILES = """\
def list_files(target, listing):
    rows = []
    for root, dirs, files in os.walk(target):
        if root == target:
            dirs[:] = [d for d in dirs if d != "{HF_LOCAL_CACHE}"]
        for name in files:
            path = os.path.join(root, name)
            rows.append(os.path.relpath(path, target) + "\\t" + str(os.path.getsize(path)) + "\\n")
    with open(listing + ".tmp", "w") as out:
        out.writelines(sorted(rows))
    os.replace(listing + ".tmp", listing)
""".replace("{HF_LOCAL_CACHE}", HF_LOCAL_CACHE)

DOWNLOAD_SCRIPT = (
    """\
import os, sys
from huggingface_hub import snapshot_download
repo, revision, target, patterns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
if os.path.exists(sys.argv[5]):
    sys.exit(0)
"""
    + LIST_FILES
    + """\
snapshot_download(repo_id=repo, revision=revision, local_dir=target, allow_patterns=patterns,
                  token=os.environ.get("HF_TOKEN") or None)
list_files(target, target + ".files")
names = [row.split("\t", 1)[0] for row in open(target + ".files")]
if "config.json" not in names or not any(n.endswith(".safetensors") for n in names):
    os.remove(target + ".files")  # nothing is uploaded, and no marker: the Job fails, vLLM keeps waiting
    sys.exit(repo + "@" + revision + ": no config.json or *.safetensors among the files matching "
             + ",".join(patterns) + " (vLLM streams safetensors only): nothing to seed")
"""
)


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
        skip_flag(blob_path),
    ]


def upload_script(container: str, blob_path: str, seed_dir: str = SEED_DIR) -> str:
    """Step 3: each listed file not already in Blob with the same size, then the marker (last).
    ``seed_dir``: the scratch share's mount (another only where a test runs the script)."""
    account = '--auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" --container-name ' + container
    return (
        "set -eu\n"
        f"if [ -f {skip_flag(blob_path, seed_dir)} ]; then exit 0; fi\n"
        f"{_LOGIN}\n"
        "tab=$(printf '\\t')\n"
        "nl='\n'\n"
        "# name<TAB>bytes of what an earlier try uploaded: those files are not sent again (every name: the\n"
        "# list stops at 5,000 without --num-results '*', azure-cli storage _params.py num_results_type)\n"
        f'uploaded="${{nl}}$(az storage blob list {account} --prefix {blob_path}/ '
        "--num-results '*' --query '[].[name, properties.contentLength]' --output tsv)${nl}\"\n"
        'while IFS="$tab" read -r name size; do\n'
        '  case "$uploaded" in\n'
        f'    *"${{nl}}{blob_path}/${{name}}${{tab}}${{size}}${{nl}}"*)\n'
        f'      echo "{blob_path}/$name: already uploaded"; continue ;;\n'
        "  esac\n"
        f'  az storage blob upload {account} --name "{blob_path}/$name" '
        f'--file "{seed_dir}/{blob_path}/$name" --max-connections 8 --overwrite true --output none\n'
        f'  echo "{blob_path}/$name: uploaded ($size bytes)"\n'
        f"done < {seed_dir}/{blob_path}.files\n"
        f"az storage blob upload {account} --name {blob_path}/{MARKER} --data seeded --overwrite true "
        "--output none\n"
    )


def wait_script(container: str, blob_path: str, *, deadline_s: int, job: str, namespace: str) -> str:
    """A Blob-streaming pod's init container: wait until the revision's marker exists (the seeding Job
    writes it last); after ``deadline_s`` fail with the Job to look at (the kubelet restarts the
    container, so the pod shows Init:CrashLoopBackOff and the message, not an endless Init:0/1)."""
    exists = (
        f'az storage blob exists --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" '
        f"--container-name {container} --name {blob_path}/{MARKER} --query exists --output tsv"
    )
    return (
        "set -u\n"
        f"deadline=$(( $(date +%s) + {deadline_s} ))\n"
        "while :; do\n"
        f"  if {_LOGIN} 2>/tmp/az.err && found=$({exists} 2>>/tmp/az.err) "
        '&& [ "$found" = "true" ]; then\n'
        f'    echo "az://{container}/{blob_path} is seeded"; exit 0\n'
        "  fi\n"
        '  if [ "$(date +%s)" -ge "$deadline" ]; then\n'
        f"    echo \"az://{container}/{blob_path} is not seeded after {deadline_s} s (the seed's predicted "
        f"time with margin): look at Job {namespace}/{job} (kubectl -n {namespace} logs job/{job} "
        f'--all-containers); this container restarts and waits again" >&2\n'
        "    cat /tmp/az.err >&2\n"
        "    exit 1\n"
        "  fi\n"
        f"  sleep {WAIT_INTERVAL_SECONDS}\n"
        "done\n"
    )

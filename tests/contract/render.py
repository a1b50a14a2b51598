"""What the contract tier hands to vLLM: every vLLM container the program renders (committed stacks and
the variants in ``tests/contract/stacks/``), the config.json of each model it serves (from the catalog
only), every environment variable the containers set and every ``vllm:`` metric any object names.

Runs in the program's venv (it plans the stacks under Pulumi mocks); ``vllm_check.py`` reads the JSON in
the tier's venv. ``python -m tests.contract.render OUT.json [--argv-form model-flag]``: the second form
renders the argv as the program did before the positional fix (``vllm serve --model <id>``), to show
that the tier fails on it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from config.catalog import hf_config_json, load_catalog
from renderers.api_keys import vllm_keys_yaml
from renderers.model_weights import HF_MODEL_ANNOTATION
from tests.conftest import ROOT, planned
from tools.mocks import ProgramRun
from tools.plan import kubernetes_manifests, run_stack

COMMITTED = ("dev", "prod", "nap")
VARIANTS_DIR = Path(__file__).parent / "stacks"
_METRIC = re.compile(r"vllm:[a-z_]+")


def variant_names() -> list[str]:
    files = VARIANTS_DIR.glob("Pulumi.*.yaml")
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in files)


def runs() -> dict[str, ProgramRun]:
    """The program run of every committed stack and variant (each must plan)."""
    out = {stack: planned(stack)[1] for stack in COMMITTED}
    for name in variant_names():
        out[name] = run_stack(ROOT, name, VARIANTS_DIR / f"Pulumi.{name}.yaml")[1]
    for stack, run in out.items():
        assert run.exit_code == 0, f"stack {stack} does not plan (exit {run.exit_code})"
    return out


def vllm_containers(run: ProgramRun) -> list[dict[str, Any]]:
    """Every container named ``vllm`` of the run's Deployments, as the pod runs it."""
    found = []
    for manifest in kubernetes_manifests(run.resources):
        if manifest["kind"] != "Deployment":
            continue
        for container in manifest["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "vllm":
                env = {e["name"]: e.get("value") for e in container.get("env", [])}
                args = list(container.get("args", []))
                annotations = manifest["spec"]["template"]["metadata"].get("annotations") or {}
                if args and args[0].startswith("az://") and HF_MODEL_ANNOTATION in annotations:
                    # vLLM would read config.json from Blob, which the tier cannot reach: the hub id the
                    # URI holds stands in for it; the streamer's flags stay and are parsed.
                    args[0] = annotations[HF_MODEL_ANNOTATION].rsplit("@", 1)[0]
                found.append(
                    {
                        "deployment": manifest["metadata"]["name"],
                        "image": container["image"],
                        "command": container.get("command"),
                        "args": args,
                        "env": env,
                    }
                )
    return found


def _model_flag_form(args: list[str]) -> list[str]:
    """The argv as the program rendered it before the positional fix: ``--model <id> <flags>``."""
    return ["--model", *args] if args and not args[0].startswith("-") else args


# Placeholder keys, never real ones: two consumers, the second one YAML reads as the octal number 342391
# if the keys file leaves it unquoted (generated keys are letters and digits: renderers/api_keys.py
# quotes each).
PLACEHOLDER_KEYS = ["contract-placeholder-key", "01234567"]


def mounted_files(args: list[str]) -> dict[str, str]:
    """Files the container reads at start that a volume mounts (path -> stand-in content): vLLM's API
    keys file (``--config``, renderers/api_keys.py), with placeholder keys, never real ones."""
    if "--config" not in args:
        return {}
    return {args[args.index("--config") + 1]: vllm_keys_yaml(PLACEHOLDER_KEYS)}


def contract_input(argv_form: str = "positional") -> dict[str, Any]:
    """The tier's input: containers, config.json per Hugging Face id, env variables, metrics."""
    catalog = load_catalog()
    by_hf = {m.hf_id: m for m in catalog.models.values()}
    containers, configs, metrics = [], {}, set()
    for stack, run in runs().items():
        skus = {row["name"]: row["sku"] for row in run.outputs.get("sizing", [])}
        for c in vllm_containers(run):
            c["compute_capability"] = catalog.skus[skus[c["deployment"]]].compute_capability
            if argv_form == "model-flag":
                c["args"] = _model_flag_form(c["args"])
            c["stack"] = stack
            c["files"] = mounted_files(c["args"])
            containers.append(c)
            hf_id = next((a for a in c["args"] if a in by_hf), None)
            if hf_id is not None:
                configs[hf_id] = hf_config_json(by_hf[hf_id])
        metrics |= set(_METRIC.findall(json.dumps([r.inputs for r in run.resources], default=str)))
    env = sorted({name for c in containers for name in c["env"]})
    return {"containers": containers, "configs": configs, "env": env, "metrics": sorted(metrics)}


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    form = argv[2] if len(argv) > 2 and argv[1] == "--argv-form" else "positional"
    out.write_text(json.dumps(contract_input(form), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

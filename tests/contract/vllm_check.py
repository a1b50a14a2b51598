"""Runs in the contract tier's venv (vLLM from its PyPI wheel, CPU torch): vLLM's own code on what the
program renders. Standard library and vLLM only; no pytest, no program imports.

``python vllm_check.py IN.json OUT.json``: IN is ``tests/contract/render.py``'s document. For each
container it does what ``vllm serve`` does before it touches a GPU (vllm/entrypoints/cli/main.py and
serve.py): build the CLI parser with the ``serve`` subcommand, parse ``command[1:] + args``, validate,
copy the positional ``model_tag`` to ``model`` (``ServeSubcommand.cmd``), build ``AsyncEngineArgs`` and
``create_engine_config(usage_context=OPENAI_API_SERVER)``. Hugging Face ids resolve offline to a hub cache
holding only the catalog's config.json. It also reports which env variables vLLM's ``envs.py`` defines,
where the other variables' readers mention them, and the metric names vLLM's stat logger registers.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import sysconfig
import tempfile
import traceback
from pathlib import Path
from typing import Any

# Env variables not defined by vLLM: the module whose source reads each (searched for the quoted name).
READERS = {
    "HF_HOME": "huggingface_hub",
    "HF_TOKEN_PATH": "huggingface_hub",
    "TORCHINDUCTOR_CACHE_DIR": "torch._inductor",
    "TRITON_CACHE_DIR": "torch._inductor",
    "TRITON_HOME": "triton",
    "NUMBA_CACHE_DIR": "numba",
    "DO_NOT_TRACK": "vllm.envs",
    "XDG_CACHE_HOME": "vllm.envs",
    "XDG_CONFIG_HOME": "vllm.envs",
    "TMPDIR": "tempfile",
    "USER": "getpass",
    "LOGNAME": "getpass",
    "HOME": "posixpath",
    # The Run:ai streamer's Azure backend (the az:// weights path, issue 24): the image installs it.
    "AZURE_STORAGE_ACCOUNT_NAME": "runai_model_streamer_azure",
}


def hub_cache(root: Path, configs: dict[str, dict[str, Any]]) -> None:
    """A Hugging Face hub cache (huggingface_hub's layout) holding each model's config.json only."""
    for hf_id, doc in configs.items():
        repo = root / "hub" / ("models--" + hf_id.replace("/", "--"))
        snapshot = repo / "snapshots" / ("0" * 40)
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text(json.dumps(doc))
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0" * 40)


def select_cpu_platform() -> str:
    """vLLM's CPU platform, before anything builds a parser or a config (no GPU here)."""
    import vllm.platforms
    from vllm.platforms.cpu import CpuPlatform

    vllm.platforms._current_platform = CpuPlatform()
    return "cpu"


def serve_parser() -> tuple[Any, dict[str, Any]]:
    """The ``vllm`` CLI parser with the serve subcommand, as vllm/entrypoints/cli/main.py builds it."""
    import vllm.entrypoints.cli.serve as serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = parser.add_subparsers(required=False, dest="subparser")
    cmds = {}
    for cmd in serve.cmd_init():
        cmd.subparser_init(subparsers).set_defaults(dispatch_function=cmd.cmd)
        cmds[cmd.name] = cmd
    return parser, cmds


def engine_config(parser: Any, cmds: dict[str, Any], argv: list[str]) -> tuple[Any, dict[str, Any]]:
    """Parse ``argv`` (after ``vllm``) and build the engine config as ``vllm serve`` does."""
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext

    args = parser.parse_args(argv)
    cmds[args.subparser].validate(args)
    if getattr(args, "model_tag", None) is not None:  # ServeSubcommand.cmd
        args.model = args.model_tag
    engine_args = AsyncEngineArgs.from_cli_args(args)
    config = engine_args.create_engine_config(usage_context=UsageContext.OPENAI_API_SERVER)
    m, c, p, s = config.model_config, config.cache_config, config.parallel_config, config.scheduler_config
    facts = {
        "model_tag": getattr(args, "model_tag", None),
        "model": m.model,
        "served_model_name": m.served_model_name,
        "dtype": str(m.dtype),
        "max_model_len": m.max_model_len,
        "quantization": m.quantization,
        "gpu_memory_utilization": c.gpu_memory_utilization,
        "block_size": c.block_size,
        "tensor_parallel_size": p.tensor_parallel_size,
        "max_num_seqs": s.max_num_seqs,
        "port": getattr(args, "port", None),
        "architectures": list(m.architectures or []),
        "api_keys": list(getattr(args, "api_key", None) or []),  # the contract's placeholders only
    }
    return config, facts


def cuda_quantization(config: Any, method: str | None, capability: str) -> None:
    """What vLLM checks of the quantization method on CUDA, which the CPU platform skips or replaces:
    ``VllmConfig._get_quantization_config`` (vllm/config/vllm.py:911-945 in the v0.31.0 wheel) builds
    the method's config with ``get_quant_config`` and refuses a GPU below its minimum compute capability
    and a model dtype outside its activation dtypes. Here with the pool's compute capability and the
    method the flag names, else the checkpoint's ``quant_method`` (CUDA may pick a Marlin kernel for it,
    which accepts more)."""
    import copy

    from vllm.model_executor.model_loader.weight_utils import get_quant_config

    if method is None:
        return
    model_config = copy.copy(config.model_config)
    model_config.quantization = method
    quant = get_quant_config(model_config, config.load_config)
    major, minor = capability.split(".")
    if int(major) * 10 + int(minor) < quant.get_min_capability():
        raise ValueError(
            f"The quantization method {method} is not supported for the current GPU. Minimum capability: "
            f"{quant.get_min_capability()}. Current capability: {capability}."
        )
    dtype = model_config.dtype
    if dtype not in quant.get_supported_act_dtypes():
        raise ValueError(f"{dtype} is not supported for quantization method {method} on CUDA")


def with_stand_in_files(argv: list[str], files: dict[str, str]) -> list[str]:
    """``argv`` with each mounted file (a volume in the pod, e.g. the API keys file) written to a temporary
    file of the same name and its path swapped in."""
    out = list(argv)
    for path, content in files.items():
        stand_in = Path(tempfile.mkdtemp(prefix="contract-files-")) / Path(path).name
        stand_in.write_text(content)
        out = [str(stand_in) if a == path else a for a in out]
    return out


def check_containers(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    parser, cmds = serve_parser()
    results, first_config = [], None
    for c in doc["containers"]:
        command = c["command"] or []
        result: dict[str, Any] = {
            "stack": c["stack"],
            "deployment": c["deployment"],
            "command": command,
            "args": c["args"],
        }
        log = io.StringIO()
        try:
            if command[:1] != ["vllm"]:
                raise ValueError(f"command {command} does not run the vllm CLI")
            argv = with_stand_in_files([*command[1:], *c["args"]], c.get("files") or {})
            with contextlib.redirect_stderr(log):
                config, facts = engine_config(parser, cmds, argv)
            hf_quant = doc["configs"].get(facts["model_tag"] or "", {}).get("quantization_config") or {}
            args = c["args"]
            flag = args[args.index("--quantization") + 1] if "--quantization" in args else None
            cuda_quantization(config, flag or hf_quant.get("quant_method"), c["compute_capability"])
            result.update(ok=True, facts=facts)
            first_config = first_config or config
        except BaseException as error:  # SystemExit from argparse included
            result.update(
                ok=False,
                error=f"{type(error).__name__}: {error}",
                stderr=log.getvalue()[-2000:],
                trace=traceback.format_exc()[-3000:],
            )
        results.append(result)
    return results, first_config


def check_env(names: list[str]) -> dict[str, Any]:
    import vllm.envs as envs

    defined = set(envs.environment_variables)
    out: dict[str, Any] = {}
    for name in names:
        if name.startswith("VLLM_"):
            out[name] = {"reader": "vllm.envs", "found": name in defined}
            continue
        module = READERS.get(name)
        if module is None:
            out[name] = {"reader": None, "found": False}
            continue
        spec = importlib.util.find_spec(module.split(".")[0])
        if spec is None:
            out[name] = {"reader": module, "installed": False, "found": False}
            continue
        sub = importlib.util.find_spec(module)
        origin = Path(sub.origin if sub and sub.origin else spec.origin or "")
        if not origin.is_file():  # a frozen standard-library module: its source file
            origin = Path(sysconfig.get_paths()["stdlib"]) / f"{module}.py"
        files = [origin] if origin.name != "__init__.py" else list(origin.parent.rglob("*.py"))
        quoted = (f'"{name}"', f"'{name}'")
        hits = [str(f) for f in files if any(q in f.read_text(errors="replace") for q in quoted)]
        version = _version(module.split(".")[0])
        out[name] = {"reader": module, "installed": True, "version": version, "found": bool(hits)}
    return out


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except Exception:
        return "stdlib"


def registered_metrics(config: Any) -> list[str]:
    """The metric names vLLM's Prometheus stat logger registers (in the global registry, one per
    process), for the engine ``config``."""
    import prometheus_client
    from vllm.v1.metrics import loggers

    try:
        loggers.PrometheusStatLogger(config, engine_indexes=[0])
    except TypeError:
        loggers.PrometheusStatLogger(config, 0)  # older signature: (vllm_config, engine_index)
    names = set()
    for family in prometheus_client.REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return sorted(n for n in names if n.startswith("vllm:"))


def cache_defaults() -> dict[str, Any]:
    """vLLM's own defaults the sizing compares with: gpu-memory-utilization and the CUDA KV block size."""
    from vllm.config.cache import CacheConfig

    utilization = CacheConfig.__dataclass_fields__["gpu_memory_utilization"].default
    return {
        "gpu_memory_utilization": getattr(utilization, "default", utilization),
        "default_block_size": CacheConfig.DEFAULT_BLOCK_SIZE,
    }


def main(argv: list[str]) -> int:
    doc = json.loads(Path(argv[0]).read_text())
    hf_home = Path(tempfile.mkdtemp(prefix="vllm-contract-hf-"))
    hub_cache(hf_home, doc["configs"])
    os.environ.update(
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        VLLM_TARGET_DEVICE="cpu",
        VLLM_NO_USAGE_STATS="1",
        DO_NOT_TRACK="1",
    )
    import importlib.metadata

    platform = select_cpu_platform()
    containers, config = check_containers(doc)
    report = {
        "vllm": importlib.metadata.version("vllm"),
        "torch": importlib.metadata.version("torch"),
        "transformers": importlib.metadata.version("transformers"),
        "platform": platform,
        "containers": containers,
        "env": check_env(doc["env"]),
        "metrics": registered_metrics(config) if config is not None else None,
        "defaults": cache_defaults(),
    }
    Path(argv[1]).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

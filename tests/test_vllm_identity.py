"""The vLLM container as UID 10001 without a passwd entry: its rendered environment makes every "who am
I / where do I write" lookup resolve, checked by running the standard library under that UID.

The mechanism (torch 2.8.0 ``torch/_inductor/runtime/cache_dir_utils.py`` ``default_cache_dir()`` calls
``getpass.getuser()`` at import of ``torch/_inductor/codecache.py``; ``getpass.getuser()`` reads
LOGNAME, USER, LNAME, USERNAME and then ``pwd.getpwuid``): as root (CI) a forked child drops to the
rendered UID/GID with ``setgroups``/``setgid``/``setuid``, replaces its environment with the rendered
container environment and calls the real functions; without root, ``unshare --user --map-user`` does
the same in a user namespace.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import PurePosixPath
from typing import Any

import pytest

from renderers.vllm import CACHE_DIR_VARIABLES
from tests.conftest import planned
from tools.plan import kubernetes_manifests

# A fresh interpreter (single-threaded: safe to change identity in) that, as root, drops to the UID/GID
# given on argv with setgroups/setgid/setuid; replaces its environment with the JSON on stdin (minus
# USER/LOGNAME in mode "bare"); and prints what the standard library resolves.
PROBE = """
import getpass, json, os, sys, tempfile
uid, gid, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
env = json.load(sys.stdin)
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
os.environ.clear()
os.environ.update({k: v for k, v in env.items() if mode == "env" or k not in ("USER", "LOGNAME")})
tempfile.tempdir = None
out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
try:
    out["user"] = getpass.getuser()
except (KeyError, OSError) as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)
out["home"] = os.path.expanduser("~")
out["tmp"] = tempfile.gettempdir()
print(json.dumps(out))
"""


def _rendered() -> tuple[dict[str, str], int, int, list[str]]:
    """(env, uid, gid, writable mount paths) of the committed dev stack's vLLM Deployment."""
    run = planned("dev")[1]
    (deployment,) = [m for m in kubernetes_manifests(run.resources) if m["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True  # only the mounts are writable
    mounts = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    return env, ctx["runAsUser"], ctx["runAsGroup"], mounts


def _no_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return True
    return False


def _run(prefix: list[str], uid: int, gid: int, env: dict[str, str], mode: str) -> dict[str, Any] | None:
    cmd = [*prefix, sys.executable, "-c", PROBE, str(uid), str(gid), mode]
    done = subprocess.run(
        cmd, input=json.dumps(env), env={}, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        return None
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def probe(uid: int, gid: int, env: dict[str, str], mode: str) -> dict[str, Any]:
    """As root: a forked child that changes its own identity. Otherwise: a user namespace mapping the
    caller to uid/gid. Skips when neither can run here."""
    if os.geteuid() == 0:
        result = _run([], uid, gid, env, mode)
        assert result is not None, "the probe failed as root"
        return result
    unshare = shutil.which("unshare")
    result = None
    if unshare is not None:
        result = _run([unshare, "--user", f"--map-user={uid}", f"--map-group={gid}"], uid, gid, env, mode)
    if result is None:
        pytest.skip("neither root (setuid in a forked child) nor unshare --user --map-user works here")
    return result


def test_the_rendered_identity_resolves_every_lookup_under_uid_10001() -> None:
    env, uid, gid, mounts = _rendered()
    assert (uid, gid) == (10001, 10001)
    if not _no_passwd_entry(uid):
        pytest.skip(f"this machine has a passwd entry for uid {uid}: the image's situation cannot be shown")
    out = probe(uid, gid, env, "env")
    assert (out["uid"], out["gid"]) == (uid, gid)
    assert "error" not in out, out
    # torch's default_cache_dir() would now build tempfile.gettempdir()/torchinductor_vllm
    assert out["user"] == env["USER"] == env["LOGNAME"] == "vllm"
    assert out["home"] == env["HOME"]
    assert out["tmp"] == env["TMPDIR"]
    # every cache directory the server writes to is absolute and under a writable mount of the pod
    for name in CACHE_DIR_VARIABLES:
        path = PurePosixPath(env[name])
        assert path.is_absolute(), name
        assert any(path == PurePosixPath(m) or PurePosixPath(m) in path.parents for m in mounts), (name, path)
    assert env["HF_HOME"] == "/models"  # the weights cache is the shared NFS volume


def test_without_user_and_logname_getuser_raises_for_that_uid() -> None:
    """The defect this fixes: the same UID and environment minus USER/LOGNAME cannot name its user."""
    env, uid, gid, _ = _rendered()
    if not _no_passwd_entry(uid):
        pytest.skip(f"this machine has a passwd entry for uid {uid}")
    out = probe(uid, gid, env, "bare")
    assert "user" not in out
    # CPython 3.11/3.12 raise KeyError('getpwuid(): uid not found: 10001'); 3.13 raises OSError
    assert out["error"].startswith(("KeyError", "OSError")), out
    assert "10001" in out["error"] or "OSError" in out["error"]

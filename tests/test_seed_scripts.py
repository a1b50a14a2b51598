"""The seeding Job's and the wait container's rendered shell scripts, RUN under /bin/sh with a fake ``az``
on PATH (a blob store in a directory): the upload resumes (a retry sends only what is missing or of
another size), huggingface_hub's ``.cache/`` never leaves the share, the marker is written last, and a
pod's wait ends when the marker exists or fails after its deadline naming the seeding Job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from renderers.model_weights import (
    MARKER,
    SEED_DIR,
    WAIT_INTERVAL_SECONDS,
    check_script,
    download_command,
    skip_flag,
    upload_script,
    wait_script,
)

CONTAINER = "model-weights"
BLOB_PATH = "phi/0123456789abcdef0123456789abcdef01234567"

FAKE_AZ = """\
import os, shutil, sys
args = sys.argv[1:]
store, log = os.environ["FAKE_AZ_STORE"], os.environ["FAKE_AZ_LOG"]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
with open(log, "a") as f:
    f.write(" ".join(args[:3]) + " " + (opt("--name") or opt("--prefix") or "") + "\\n")
if args[0] == "login":
    # the documented workload-identity form: the federated token's text, the client and tenant ids
    token = open(os.environ["AZURE_FEDERATED_TOKEN_FILE"]).read()
    assert "--service-principal" in args and opt("--federated-token") == token, args
    assert opt("-u") == os.environ["AZURE_CLIENT_ID"] and opt("-t") == os.environ["AZURE_TENANT_ID"], args
    calls = os.path.join(os.path.dirname(log), "login-calls")
    n = (int(open(calls).read()) if os.path.exists(calls) else 0) + 1
    open(calls, "w").write(str(n))
    if n <= int(os.environ.get("FAKE_AZ_LOGIN_FAILS", "0")):  # the first N logins fail
        print("AADSTS70021: No matching federated identity record found", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
verb = args[2]
if verb == "list":
    prefix = opt("--prefix")
    for root, _, files in os.walk(store):
        for n in sorted(files):
            name = os.path.relpath(os.path.join(root, n), store)
            if name.startswith(prefix):
                print(name + "\\t" + str(os.path.getsize(os.path.join(root, n))))
elif verb == "exists":
    calls = os.path.join(os.path.dirname(log), "exists-calls")
    n = (int(open(calls).read()) if os.path.exists(calls) else 0) + 1
    open(calls, "w").write(str(n))
    if str(n) == os.environ.get("FAKE_AZ_SEEDED_AT_CALL"):  # the seeding Job finishes meanwhile
        os.makedirs(os.path.dirname(os.path.join(store, opt("--name"))), exist_ok=True)
        open(os.path.join(store, opt("--name")), "w").write("seeded")
    print("true" if os.path.exists(os.path.join(store, opt("--name"))) else "false")
elif verb == "upload":
    name = opt("--name")
    if name == os.environ.get("FAKE_AZ_FAIL_ON"):
        print("upload failed: connection reset", file=sys.stderr)
        sys.exit(1)
    target = os.path.join(store, name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if opt("--file") is not None:
        shutil.copyfile(opt("--file"), target)
    else:
        with open(target, "w") as out:
            out.write(opt("--data"))
"""


@pytest.fixture(params=["dash", "bash-posix"])
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
    az.chmod(0o755)
    sleep = bin_dir / "sleep"  # the wait loop's pause, made instant (its argument recorded)
    sleep.write_text(f'#!/bin/sh\necho "$1" >> {tmp_path}/sleeps\nexit 0\n')
    sleep.chmod(0o755)
    token = tmp_path / "token"
    token.write_text("federated-token")
    store = tmp_path / "store"
    store.mkdir()
    shell = "dash" if request.param == "dash" else "bash"
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    return {
        "root": tmp_path,
        "bin": bin_dir,
        "store": store,
        "log": tmp_path / "az.log",
        "token": token,
        "shell": Path(shell),
    }


def _run(box: dict[str, Path], script: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{box['bin']}:{os.environ['PATH']}",
        "FAKE_AZ_STORE": str(box["store"]),
        "FAKE_AZ_LOG": str(box["log"]),
        "AZURE_CLIENT_ID": "client",
        "AZURE_TENANT_ID": "tenant",
        "AZURE_FEDERATED_TOKEN_FILE": str(box["token"]),
        "AZURE_STORAGE_ACCOUNT_NAME": "account",
        **extra,
    }
    shell = ["dash", "-c"] if box["shell"].name == "dash" else ["bash", "--posix", "-c"]
    script = script.replace("/tmp/az.err", str(box["root"] / "az.err"))  # the pod's /tmp, the sandbox's here
    return subprocess.run([*shell, script], env=env, capture_output=True, text=True, timeout=60)


def _wait(deadline_s: int) -> str:
    return wait_script(
        CONTAINER, BLOB_PATH, deadline_s=deadline_s, job="seed-phi-0123456789", namespace="inference"
    )


def _uploads(box: dict[str, Path]) -> list[str]:
    lines = box["log"].read_text().splitlines() if box["log"].exists() else []
    box["log"].unlink(missing_ok=True)
    return [line.split(" ", 3)[3] for line in lines if line.startswith("storage blob upload ")]


HUB_FILES = {
    "model-00001-of-00002.safetensors": b"a" * 300,
    "model-00002-of-00002.safetensors": b"b" * 200,
    "config.json": b"{}",
    "tokenizer/tokenizer.json": b'{"v": 1}',
    # huggingface_hub's local-dir bookkeeping (_local_folder.py): never uploaded
    ".cache/huggingface/download/config.json.metadata": b"etag",
    ".cache/huggingface/download/config.json.lock": b"",
}

FAKE_HUB = """\
import os
def snapshot_download(repo_id, revision, local_dir, allow_patterns, token):
    files = FILES
    for name, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(local_dir, name)), exist_ok=True)
        with open(os.path.join(local_dir, name), "wb") as f:
            f.write(data)
"""


def _seed_dir(box: dict[str, Path], files: dict[str, bytes] = HUB_FILES, blob_path: str = BLOB_PATH) -> Path:
    """The download step, run with the rendered script and a stand-in ``huggingface_hub`` that writes
    ``files`` (by default two weight shards, a config, a nested tokenizer file and the hub's
    ``.cache/huggingface`` bookkeeping)."""
    hub = box["root"] / "fake-hub" / "huggingface_hub"
    hub.mkdir(parents=True)
    (hub / "__init__.py").write_text(f"FILES = {files!r}\n{FAKE_HUB}")
    seed = box["root"] / "seed"
    command = download_command("org/phi", blob_path.split("/")[1], blob_path)
    assert command[:2] == ["python3", "-c"] and command[5] == f"{SEED_DIR}/{blob_path}"
    assert command[7] == skip_flag(blob_path)
    args = [
        sys.executable,
        "-c",
        command[2],
        *command[3:5],
        str(seed / blob_path),
        command[6],
        skip_flag(blob_path, str(seed)),
    ]
    env = {**os.environ, "PYTHONPATH": str(box["root"] / "fake-hub")}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return seed


def test_the_upload_skips_the_hub_bookkeeping_resumes_after_a_failure_and_writes_the_marker_last(
    sandbox: dict[str, Path],
) -> None:
    seed = _seed_dir(sandbox)
    listing = (seed / f"{BLOB_PATH}.files").read_text().splitlines()
    assert [row.split("\t")[0] for row in listing] == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer/tokenizer.json",
    ]
    script = upload_script(CONTAINER, BLOB_PATH, seed_dir=str(seed))
    marker = f"{BLOB_PATH}/{MARKER}"

    # first try: the third file fails (a dropped connection); the pod exits non-zero, no marker
    failed = _run(sandbox, script, FAKE_AZ_FAIL_ON=f"{BLOB_PATH}/model-00002-of-00002.safetensors")
    assert failed.returncode != 0
    assert _uploads(sandbox) == [
        f"{BLOB_PATH}/config.json",
        f"{BLOB_PATH}/model-00001-of-00002.safetensors",
        f"{BLOB_PATH}/model-00002-of-00002.safetensors",
    ]
    assert not (sandbox["store"] / marker).exists()

    # a blob of the right name but another size (a changed file) is sent again
    (sandbox["store"] / BLOB_PATH / "config.json").write_text("{ }")

    # the retry: only what is missing or differs, then the marker, last
    retried = _run(sandbox, script)
    assert retried.returncode == 0, retried.stderr
    assert _uploads(sandbox) == [
        f"{BLOB_PATH}/config.json",
        f"{BLOB_PATH}/model-00002-of-00002.safetensors",
        f"{BLOB_PATH}/tokenizer/tokenizer.json",
        marker,
    ]
    assert "model-00001-of-00002.safetensors: already uploaded" in retried.stdout
    stored = sorted(str(p.relative_to(sandbox["store"])) for p in sandbox["store"].rglob("*") if p.is_file())
    assert not any(".cache" in name for name in stored)
    assert (sandbox["store"] / BLOB_PATH / "model-00002-of-00002.safetensors").read_bytes() == b"b" * 200

    # a third run (nothing left) uploads only the marker again
    assert _run(sandbox, script).returncode == 0
    assert _uploads(sandbox) == [marker]


def test_the_upload_does_nothing_when_the_check_found_the_revision_seeded(sandbox: dict[str, Path]) -> None:
    seed = _seed_dir(sandbox)
    Path(skip_flag(BLOB_PATH, str(seed))).touch()
    assert _run(sandbox, upload_script(CONTAINER, BLOB_PATH, seed_dir=str(seed))).returncode == 0
    assert _uploads(sandbox) == []


def test_the_wait_ends_when_the_marker_exists(sandbox: dict[str, Path]) -> None:
    (sandbox["store"] / BLOB_PATH).mkdir(parents=True)
    (sandbox["store"] / BLOB_PATH / MARKER).write_text("seeded")
    script = _wait(600)
    done = _run(sandbox, script)
    assert done.returncode == 0 and f"az://{CONTAINER}/{BLOB_PATH} is seeded" in done.stdout


def test_the_wait_polls_until_the_seeding_job_writes_the_marker(sandbox: dict[str, Path]) -> None:
    script = _wait(600)
    done = _run(sandbox, script, FAKE_AZ_SEEDED_AT_CALL="3")
    assert done.returncode == 0
    assert (sandbox["root"] / "exists-calls").read_text() == "3"


def test_the_wait_fails_after_its_deadline_naming_the_seeding_job(sandbox: dict[str, Path]) -> None:
    script = _wait(0)
    failed = _run(sandbox, script)
    assert failed.returncode == 1
    assert "not seeded after 0 s" in failed.stderr
    assert "kubectl -n inference logs job/seed-phi-0123456789 --all-containers" in failed.stderr


def test_the_wait_fails_at_its_deadline_with_the_last_az_error(sandbox: dict[str, Path]) -> None:
    # an identity whose federation never works: every pass fails, the deadline ends it with az's error
    script = _wait(0)
    failed = _run(sandbox, script, FAKE_AZ_LOGIN_FAILS="99")
    assert failed.returncode == 1 and "look at Job inference/seed-phi-0123456789" in failed.stderr
    assert "AADSTS70021" in failed.stderr


def test_the_wait_keeps_polling_through_login_errors(sandbox: dict[str, Path]) -> None:
    # a federated credential not propagated yet: the first two logins fail, the third pass finds the marker
    (sandbox["store"] / BLOB_PATH).mkdir(parents=True)
    (sandbox["store"] / BLOB_PATH / MARKER).write_text("seeded")
    done = _run(sandbox, _wait(600), FAKE_AZ_LOGIN_FAILS="2")
    assert done.returncode == 0, done.stderr
    assert (sandbox["root"] / "login-calls").read_text() == "3"
    assert (sandbox["root"] / "exists-calls").read_text() == "1"  # no blob call without a login
    assert (sandbox["root"] / "sleeps").read_text().split() == [str(WAIT_INTERVAL_SECONDS)] * 2


def test_the_upload_keeps_spaces_and_nested_folders_and_skips_a_same_size_blob(
    sandbox: dict[str, Path],
) -> None:
    files = {
        "model.safetensors": b"w" * 64,
        "config.json": b"{}",
        "tokenizer dir/sub folder/special tokens [v2].json": b'{"a": 1}',
        "chat template.jinja": b"{{ x }}",
        ".cache/huggingface/download/model.safetensors.lock": b"",
    }
    seed = _seed_dir(sandbox, files)
    script = upload_script(CONTAINER, BLOB_PATH, seed_dir=str(seed))
    done = _run(sandbox, script)
    assert done.returncode == 0, done.stderr
    sent = [f"{BLOB_PATH}/{name}" for name in sorted(files) if not name.startswith(".cache")]
    assert _uploads(sandbox) == [*sent, f"{BLOB_PATH}/{MARKER}"]  # the marker after every file
    for name in sent:
        assert (sandbox["store"] / name).read_bytes() == files[name.removeprefix(BLOB_PATH + "/")]

    # Accepted: a blob of the listed size is not compared by content. The revision is an immutable hub
    # commit and a block blob appears only when its upload commits, so a same-size blob under this
    # revision's prefix is that file unless someone wrote the prefix by hand.
    (sandbox["store"] / BLOB_PATH / "model.safetensors").write_bytes(b"x" * 64)
    again = _run(sandbox, script)
    assert again.returncode == 0 and _uploads(sandbox) == [f"{BLOB_PATH}/{MARKER}"]
    assert "special tokens [v2].json: already uploaded" in again.stdout


def test_a_skip_flag_counts_only_for_its_revision_and_only_until_the_next_check(
    sandbox: dict[str, Path],
) -> None:
    # The scratch share is the model's (one PVC for every revision) and outlives each Job.
    seed, store = sandbox["root"] / "seed", sandbox["store"]
    seed.mkdir()
    old = "phi/" + "a" * 40
    # the old revision is seeded and its Job runs again (a new vLLM image replaces the Job): flagged
    (store / old).mkdir(parents=True)
    (store / old / MARKER).write_text("seeded")
    assert _run(sandbox, check_script(CONTAINER, old, seed_dir=str(seed))).returncode == 0
    assert Path(skip_flag(old, str(seed))).exists()

    # the model moves to a new revision: its Job seeds it all the same
    assert _run(sandbox, check_script(CONTAINER, BLOB_PATH, seed_dir=str(seed))).returncode == 0
    _seed_dir(sandbox, blob_path=BLOB_PATH)
    done = _run(sandbox, upload_script(CONTAINER, BLOB_PATH, seed_dir=str(seed)))
    assert done.returncode == 0, done.stderr
    assert (store / BLOB_PATH / MARKER).exists() and (store / BLOB_PATH / "config.json").exists()

    # the old revision's blobs are gone (another storage account): its next check drops the stale flag
    shutil.rmtree(store / old)
    assert _run(sandbox, check_script(CONTAINER, old, seed_dir=str(seed))).returncode == 0
    assert not Path(skip_flag(old, str(seed))).exists()


def test_a_download_without_safetensors_weights_fails_and_nothing_is_marked_seeded(
    sandbox: dict[str, Path],
) -> None:
    """A revision whose allowed files hold no *.safetensors (a .bin-only repository) or no config.json
    fails the download step with the reason, leaves no file list, so the upload step fails and writes no
    marker: the pods' init container keeps waiting, then names the Job, instead of vLLM failing on an
    empty prefix."""
    files = {"config.json": b"{}", "tokenizer.json": b"{}"}
    with pytest.raises(AssertionError, match=r"no config.json or \*.safetensors"):
        _seed_dir(sandbox, files)
    listing = sandbox["root"] / "seed" / f"{BLOB_PATH}.files"
    assert not listing.exists()
    done = _run(sandbox, upload_script(CONTAINER, BLOB_PATH, seed_dir=str(sandbox["root"] / "seed")))
    assert done.returncode != 0 and MARKER not in "".join(_uploads(sandbox))

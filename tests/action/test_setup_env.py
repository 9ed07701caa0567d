"""action/setup_env.py, the installer the composite action's run step calls: key, reuse, uv and pip, fallbacks.

pip, uv and venv creation are recorders in most tests (no network); the venv layout tests make real venvs
(without pip, no network), and the real installs run in test_launch.py's slow test and under act (test_act.py).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import setup_env

from .conftest import ROOT


@pytest.fixture
def action(tmp_path: Path) -> Path:
    """A copy of what the script reads from the action's folder, so that tests may change it."""
    dest = tmp_path / "action"
    (dest / "requirements").mkdir(parents=True)
    for name in ("runtime.txt", "uv.txt"):
        shutil.copy2(ROOT / "requirements" / name, dest / "requirements" / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


class Installers:
    """Records the commands. ``pip install --target`` leaves a uv binary at ``uv_at`` (relative to the target;
    default, where this platform's pip puts it; None: nowhere); ``fail`` names the commands (by their first
    words: "uv", "pip", "pip-uv") that exit with 3, ``missing`` those that cannot be started (FileNotFoundError,
    as ``subprocess.run`` raises for a binary that is not there)."""

    def __init__(self, fail: Sequence[str] = (), *, missing: Sequence[str] = (), uv_at: str | None = "") -> None:
        self.calls: list[list[str]] = []
        self.fail = set(fail)
        self.missing = set(missing)
        self.uv_at = uv_at

    def kind(self, argv: Sequence[str]) -> str:
        if Path(argv[0]).name.startswith("uv"):
            return "uv"
        return "pip-uv" if "--target" in argv else "pip"

    def __call__(self, argv: Sequence[str]) -> None:
        self.calls.append(list(argv))
        if self.kind(argv) in self.missing:
            raise FileNotFoundError(2, "The system cannot find the file specified", argv[0])
        if self.kind(argv) in self.fail:
            raise subprocess.CalledProcessError(3, list(argv))
        if "--target" in argv and self.uv_at is not None:
            target = Path(argv[argv.index("--target") + 1])
            exe = target / self.uv_at if self.uv_at else setup_env.uv_executable(target)
            exe.parent.mkdir(parents=True)
            exe.write_text("", encoding="utf-8")

    def kinds(self) -> list[str]:
        return [self.kind(argv) for argv in self.calls]


def fake_venv(env_dir: Path, with_pip: bool) -> None:
    python = setup_env.venv_python(env_dir)
    python.parent.mkdir(parents=True)
    python.write_text("pip" if with_pip else "", encoding="utf-8")
    setup_env.site_packages(env_dir).mkdir(parents=True)


def quiet(_: str) -> None:
    pass


def test_the_scripts_live_where_action_yml_calls_them() -> None:
    assert setup_env.ACTION_ROOT == ROOT
    assert Path(setup_env.__file__).resolve() == ROOT / "action" / "setup_env.py"


def test_key_names_the_version_and_python_and_changes_with_locks_sources_and_interpreter(action: Path) -> None:
    before = setup_env.venv_key(action)
    version = setup_env.read_version(action)
    assert before.startswith(f"{version}-py{sys.version_info[0]}{sys.version_info[1]}-")
    (action / "src" / "streampixel_deploy" / "__pycache__").mkdir(exist_ok=True)
    (action / "src" / "streampixel_deploy" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert setup_env.venv_key(action) == before, "caches are not sources"
    keys = {before, setup_env.venv_key(action, "cpython-3.12.0-/opt/other")}
    with (action / "src" / "streampixel_deploy" / "cli.py").open("a", encoding="utf-8") as fh:
        fh.write("# changed\n")
    keys.add(setup_env.venv_key(action))
    with (action / "requirements" / "runtime.txt").open("a", encoding="utf-8") as fh:
        fh.write("# relocked\n")
    keys.add(setup_env.venv_key(action))
    (action / "src" / "streampixel_deploy" / "_version.py").write_text('__version__ = "9.9.9"\n', encoding="utf-8")
    keys.add(setup_env.venv_key(action))
    assert len(keys) == 5


def test_a_version_file_without_a_version_is_a_setup_error(action: Path) -> None:
    (action / "src" / "streampixel_deploy" / "_version.py").write_text("VERSION = 1\n", encoding="utf-8")
    with pytest.raises(setup_env.SetupError, match="no __version__"):
        setup_env.venv_key(action)


@pytest.mark.parametrize(
    ("platform", "python", "uv", "site"),
    [
        ("win32", "Scripts/python.exe", "bin/uv.exe", "Lib/site-packages"),
        ("linux", "bin/python", "bin/uv", f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"),
        ("darwin", "bin/python", "bin/uv", f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"),
    ],
)
def test_paths_per_platform(tmp_path: Path, platform: str, python: str, uv: str, site: str) -> None:
    assert setup_env.venv_python(tmp_path, platform) == tmp_path / python
    assert setup_env.uv_executable(tmp_path, platform) == tmp_path / uv
    assert setup_env.site_packages(tmp_path, platform) == tmp_path / site


def test_on_windows_uv_is_found_in_scripts_too(tmp_path: Path) -> None:
    (tmp_path / "Scripts").mkdir()
    (tmp_path / "Scripts" / "uv.exe").write_bytes(b"")
    assert setup_env.uv_executable(tmp_path, "win32") == tmp_path / "Scripts" / "uv.exe"


def test_cold_install_with_uv(action: Path, tmp_path: Path) -> None:
    run, said = Installers(), list[str]()
    home = tmp_path / "home"
    python = setup_env.install(action, home, run=run, make_venv=fake_venv, say=said.append)
    key = setup_env.venv_key(action)
    assert python == setup_env.venv_python(home / key / "venv")
    assert python.read_text(encoding="utf-8") == "", "uv's venv is made without pip"
    uv = home / setup_env.uv_key(action)
    assert run.kinds() == ["pip-uv", "uv"]
    pip_uv, uv_pip = run.calls
    assert pip_uv[:3] == [sys.executable, "-m", "pip"]
    assert pip_uv[3:] == [
        "install", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes", "--target", pip_uv[9],
        "-r", str(action / "requirements" / "uv.txt"),
    ]  # fmt: skip
    assert Path(pip_uv[9]).parent == home and Path(pip_uv[9]).name.startswith(f".{uv.name}.tmp-")
    assert uv_pip[0] == str(setup_env.uv_executable(uv)), "uv runs from its published folder"
    assert uv_pip[1:] == [
        "pip", "install", "--quiet", "--no-config", "--python", uv_pip[6], "--require-hashes",
        "-r", str(action / "requirements" / "runtime.txt"),
    ]  # fmt: skip
    assert Path(uv_pip[6]).parent.parent.parent.name.startswith(f".{key}.tmp-"), "made aside, then renamed"
    assert sorted(p.name for p in home.iterdir()) == sorted([key, uv.name])
    assert (home / key / "ready").read_text(encoding="utf-8") == key + "\n"
    assert (uv / "ready").is_file() and setup_env.uv_executable(uv).is_file()
    site = setup_env.site_packages(home / key / "venv")
    assert (site / "streampixel_deploy.pth").read_text(encoding="utf-8").strip() == os.path.relpath(
        home / key / "source" / "src", site
    )
    assert (home / key / "source" / "src" / "streampixel_deploy" / "__main__.py").is_file()
    assert said[-1].startswith("Installed with uv in ")


def test_a_finished_venv_is_reused_and_its_mark_touched(action: Path, tmp_path: Path) -> None:
    first = setup_env.install(action, tmp_path, run=Installers(), make_venv=fake_venv, say=quiet)
    mark = first.parent.parent.parent / "ready"
    os.utime(mark, (1, 1))
    run, said = Installers(), list[str]()

    def no_venv(env_dir: Path, with_pip: bool) -> None:
        raise AssertionError(f"a finished venv was made again: {env_dir}")

    assert setup_env.install(action, tmp_path, run=run, make_venv=no_venv, say=said.append) == first
    assert run.calls == []
    assert said == [f"Reusing the venv {first.parent.parent} (key {setup_env.venv_key(action)})"]
    assert mark.stat().st_mtime > time.time() - 60, "a reuse counts as a use for pruning"


def test_a_new_key_reuses_uv_from_the_cache(action: Path, tmp_path: Path) -> None:
    setup_env.install(action, tmp_path, run=Installers(), make_venv=fake_venv, say=quiet)
    with (action / "src" / "streampixel_deploy" / "cli.py").open("a", encoding="utf-8") as fh:
        fh.write("# next commit of the action\n")
    run, said = Installers(), list[str]()
    setup_env.install(action, tmp_path, run=run, make_venv=fake_venv, say=said.append)
    assert run.kinds() == ["uv"]
    assert run.calls[0][0] == str(setup_env.uv_executable(tmp_path / setup_env.uv_key(action)))
    assert said[0] == f"Using uv from {tmp_path / setup_env.uv_key(action)}"


def _pip_path_calls(action: Path, home: Path, python: Path) -> list[list[str]]:
    """Today's pip path: the runtime lock with hashes, into the venv being made beside its final place."""
    key = setup_env.venv_key(action)
    work = Path(str(python).split(os.sep + "venv" + os.sep)[0])
    assert work.parent == home and work.name.startswith(f".{key}.tmp-")
    return setup_env.pip_commands(python, action)


@pytest.mark.parametrize("why", ["uv's wheel fails", "no pip for uv", "forced"])
def test_pip_is_the_fallback_when_uv_cannot_be_had(
    action: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    run = Installers(fail=["pip-uv"] if why == "uv's wheel fails" else [])
    if why == "no pip for uv":
        monkeypatch.setattr(setup_env, "pip_launcher", lambda platform: None)
    installer = "pip" if why == "forced" else "auto"
    home = tmp_path / "home"
    python = setup_env.install(action, home, installer=installer, run=run, make_venv=fake_venv, say=quiet)
    final = setup_env.venv_python(home / setup_env.venv_key(action) / "venv")
    assert python == final and python.read_text(encoding="utf-8") == "pip", "pip's venv has pip"
    pip_calls = [argv for argv in run.calls if run.kind(argv) == "pip"]
    runtime = action / "requirements" / "runtime.txt"
    assert pip_calls[0][1:] == [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--require-hashes",
        "-r",
        str(runtime),
    ]
    assert pip_calls == _pip_path_calls(action, home, Path(pip_calls[0][0]))
    # nothing is built: the sources are on the venv's path, as with uv
    assert (setup_env.site_packages(final.parent.parent) / "streampixel_deploy.pth").is_file()
    assert [p.name for p in home.iterdir()] == [setup_env.venv_key(action)]


def test_a_failing_uv_install_falls_back_to_pip(action: Path, tmp_path: Path) -> None:
    run, said = Installers(fail=["uv"]), list[str]()
    setup_env.install(action, tmp_path, run=run, make_venv=fake_venv, say=said.append)
    assert run.kinds() == ["pip-uv", "uv", "pip"]
    assert "uv exited with 3 while installing the action's locked dependencies; trying pip instead" in said


def windows_venv(env_dir: Path, with_pip: bool) -> None:
    """fake_venv in the Windows layout (Scripts/python.exe, Lib/site-packages), whatever this machine is."""
    python = setup_env.venv_python(env_dir, "win32")
    python.parent.mkdir(parents=True)
    python.write_text("pip" if with_pip else "", encoding="utf-8")
    setup_env.site_packages(env_dir, "win32").mkdir(parents=True)


def test_on_windows_uv_is_run_from_where_pip_put_it(action: Path, tmp_path: Path) -> None:
    """Issue 24: ``pip install --target`` lays uv out as ``bin/uv.exe`` on Windows; the first install of a cold
    tool cache ran ``Scripts/uv.exe`` (chosen before uv existed) and failed with ``[WinError 2]``."""
    run, said = Installers(uv_at="bin/uv.exe"), list[str]()
    python = setup_env.install(action, tmp_path, run=run, make_venv=windows_venv, platform="win32", say=said.append)
    uv = tmp_path / setup_env.uv_key(action) / "bin" / "uv.exe"
    assert run.kinds() == ["pip-uv", "uv"] and run.calls[1][0] == str(uv)
    assert python == tmp_path / setup_env.venv_key(action) / "venv" / "Scripts" / "python.exe"
    assert said[-1].startswith("Installed with uv in ")
    again = Installers(uv_at="bin/uv.exe")
    with (action / "src" / "streampixel_deploy" / "cli.py").open("a", encoding="utf-8") as fh:
        fh.write("# a new key, the same uv\n")
    setup_env.install(action, tmp_path, run=again, make_venv=windows_venv, platform="win32", say=quiet)
    assert again.calls[0][0] == str(uv), "the warm tool cache's uv is found in bin too"


@pytest.mark.parametrize(
    "how",
    ["uv's wheel has no binary", "pip cannot be started for uv", "uv cannot be started", "uv fails"],
)
def test_any_failure_of_uv_falls_back_to_pip_with_a_one_line_notice(action: Path, tmp_path: Path, how: str) -> None:
    run = {
        "uv's wheel has no binary": Installers(uv_at=None),
        "pip cannot be started for uv": Installers(missing=["pip-uv"]),
        "uv cannot be started": Installers(missing=["uv"]),
        "uv fails": Installers(fail=["uv"]),
    }[how]
    said = list[str]()
    python = setup_env.install(action, tmp_path, run=run, make_venv=fake_venv, say=said.append)
    assert python.read_text(encoding="utf-8") == "pip", "the venv was made by the pip path"
    assert run.kinds()[-1] == "pip" and run.kinds().count("pip") == 1
    assert said[-1].startswith("Installed with pip in ")
    notices = [line for line in said if "pip instead" in line]
    assert len(notices) == 1 and "\n" not in notices[0], said
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp-" in p.name) == [], "nothing half-made is left"


def test_a_cached_uv_that_cannot_be_started_is_installed_again_next_time(action: Path, tmp_path: Path) -> None:
    setup_env.install(action, tmp_path, run=Installers(), make_venv=fake_venv, say=quiet)
    uv = tmp_path / setup_env.uv_key(action)
    assert (uv / "ready").is_file()
    with (action / "src" / "streampixel_deploy" / "cli.py").open("a", encoding="utf-8") as fh:
        fh.write("# a new key\n")
    setup_env.install(action, tmp_path, run=Installers(missing=["uv"]), make_venv=fake_venv, say=quiet)
    assert not uv.exists(), "a uv that cannot run is not kept (else every later job would fall back to pip)"


def test_installer_uv_allows_no_fallback(action: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(setup_env.SetupError, match="uv exited with 3"):
        setup_env.install(
            action, tmp_path / "a", installer="uv", run=Installers(["uv"]), make_venv=fake_venv, say=quiet
        )
    with pytest.raises(setup_env.SetupError, match="uv could not be started"):
        setup_env.install(
            action, tmp_path / "c", installer="uv", run=Installers(missing=["uv"]), make_venv=fake_venv, say=quiet
        )
    monkeypatch.setattr(setup_env, "pip_launcher", lambda platform: None)
    with pytest.raises(setup_env.SetupError, match="SP_INSTALLER=uv allows no fallback"):
        setup_env.install(action, tmp_path / "b", installer="uv", run=Installers(), make_venv=fake_venv, say=quiet)


def test_an_unknown_installer_is_refused(action: Path, tmp_path: Path) -> None:
    with pytest.raises(setup_env.SetupError, match="SP_INSTALLER must be one of auto, uv, pip, not 'conda'"):
        setup_env.install(action, tmp_path, installer="conda", run=Installers(), make_venv=fake_venv, say=quiet)


@pytest.mark.parametrize("fail", [["pip"], ["uv", "pip"]])
def test_when_every_installer_fails_nothing_half_made_is_left(action: Path, tmp_path: Path, fail: list[str]) -> None:
    home = tmp_path / "home"
    with pytest.raises(setup_env.SetupError, match="pip exited with 3 while installing"):
        setup_env.install(action, home, installer="pip" if fail == ["pip"] else "auto",
                          run=Installers(fail), make_venv=fake_venv, say=quiet)  # fmt: skip
    left = sorted(p.name for p in home.iterdir())
    assert left == ([] if fail == ["pip"] else [setup_env.uv_key(action)]), "only a finished uv may stay"


def test_a_half_made_venv_of_an_older_action_is_made_again(action: Path, tmp_path: Path) -> None:
    root = tmp_path / setup_env.venv_key(action)
    fake_venv(root / "venv", True)  # a Python but no ready mark
    (root / "leftover").write_text("from the earlier attempt", encoding="utf-8")
    setup_env.install(action, tmp_path, run=Installers(), make_venv=fake_venv, say=quiet)
    assert not (root / "leftover").exists()
    assert (root / "ready").is_file()


def test_when_another_runner_finishes_first_its_venv_is_kept(action: Path, tmp_path: Path) -> None:
    key = setup_env.venv_key(action)

    def racing_venv(env_dir: Path, with_pip: bool) -> None:
        fake_venv(env_dir, with_pip)
        if not (tmp_path / key).exists():  # the other runner publishes while we install
            fake_venv(tmp_path / key / "venv", with_pip)
            (tmp_path / key / "theirs").write_text("", encoding="utf-8")
            (tmp_path / key / "ready").write_text(key, encoding="utf-8")

    python = setup_env.install(action, tmp_path, run=Installers(), make_venv=racing_venv, say=quiet)
    assert python == setup_env.venv_python(tmp_path / key / "venv")
    assert (tmp_path / key / "theirs").is_file()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_prune_removes_what_was_unused_for_30_days(tmp_path: Path) -> None:
    now = time.time()
    for name, age_days, ready in [("old", 31, True), ("recent", 2, True), ("kept", 90, True), (".x.tmp-1", 40, False)]:
        (tmp_path / name).mkdir()
        mark = tmp_path / name / ("ready" if ready else "partial")
        mark.write_text("", encoding="utf-8")
        os.utime(mark, (now - age_days * 86400,) * 2)
        os.utime(tmp_path / name, (now - age_days * 86400,) * 2)
    assert setup_env.prune(tmp_path, keep={"kept"}, now=now) == [".x.tmp-1", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "recent"]
    assert setup_env.prune(tmp_path / "missing", keep=set()) == []


def test_pip_launcher_prefers_the_module_then_the_bundled_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert setup_env.pip_launcher() == [sys.executable, "-m", "pip"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "pip" else real(name))
    launcher = setup_env.pip_launcher("win32")
    spec = real("ensurepip")
    assert spec is not None and spec.origin is not None
    bundled = sorted((Path(spec.origin).parent / "_bundled").glob("pip-*.whl"))
    if not bundled:
        pytest.skip("this Python's ensurepip bundles no pip wheel")
    assert launcher == [sys.executable, str(bundled[-1] / "pip")]


@pytest.fixture
def real_venv(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "key"
    setup_env.create_venv(root / "venv", False)
    return root


def test_site_packages_is_the_real_venvs(real_venv: Path) -> None:
    python = setup_env.venv_python(real_venv / "venv")
    ask = [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    reported = subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(reported) == setup_env.site_packages(real_venv / "venv")


def test_linked_sources_import_with_metadata_even_after_the_folder_is_renamed(action: Path, real_venv: Path) -> None:
    setup_env.stage_source(action, real_venv / "source")
    setup_env.link_source(action, real_venv)
    moved = real_venv.rename(real_venv.parent / "renamed")
    code = (
        "import importlib.metadata as m, importlib.resources as r, streampixel_deploy._version as v;"
        "print(m.version('streampixel-deploy'), v.__version__, v.__file__,"
        " r.files('streampixel_deploy').joinpath('templates/summary.md').is_file())"
    )
    argv = [str(setup_env.venv_python(moved / "venv")), "-c", code]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    version = setup_env.read_version(action)
    assert out[:2] == [version, version]
    assert Path(out[2]).is_relative_to(moved / "source" / "src")
    assert out[3] == "True", "the package's data files (templates) are there too"

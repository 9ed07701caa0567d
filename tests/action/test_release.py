"""release.yml cannot run here: its jobs' order and grants are checked as data, and what its release job runs
(scripts/release-notes, scripts/gen-action-docs --pin-image) is run for real, on the real CHANGELOG and
docker/action.yml and on crafted ones."""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ACTION, DOCKER_ACTION, PUBLISHED_IMAGE, ROOT, load, tool

RELEASE = ROOT / ".github" / "workflows" / "release.yml"
CHANGELOG = ROOT / "CHANGELOG.md"
NOTES = ROOT / "scripts" / "release-notes"
GEN = ROOT / "scripts" / "gen-action-docs"
DIGEST = "sha256:" + "0123456789abcdef" * 4
VERSION = re.search(r'__version__ = "(.+)"', (ROOT / "src/streampixel_deploy/_version.py").read_text()).group(1)  # type: ignore[union-attr]


def _script(path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(path), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _notes(text: str, version: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(text, encoding="utf-8")
    return _script(NOTES, version, "--changelog", changelog)


def _needs(jobs: dict[str, Any], name: str) -> set[str]:
    """Every job ``name`` waits for, directly or not."""
    direct = jobs[name].get("needs", [])
    found = set([direct] if isinstance(direct, str) else direct)
    for other in list(found):
        found |= _needs(jobs, other)
    return found


def _steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in job["steps"])


# --- scripts/release-notes -------------------------------------------------------------------------------------

CRAFTED = """# Changelog

## [Unreleased]

- not yet

## [1.2.0] - 2027-02-01

### Added
- the new thing

## [1.1.0] - Unreleased

- never dated

## [1.0.1] - 2027-01-10

## [1.0.0] - 2027-01-01

- the first one
"""


def test_notes_are_the_dated_section_and_nothing_after_it(tmp_path: Path) -> None:
    done = _notes(CRAFTED, "1.2.0", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "### Added\n- the new thing\n"
    assert _notes(CRAFTED, "v1.0.0", tmp_path).stdout == "- the first one\n"


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("1.1.0", "marked 'Unreleased'"),
        ("1.3.0", "no section [1.3.0]"),
        ("1.0.1", "is empty"),
        ("Unreleased", "is not a version"),
        ("1.2", "is not a version"),
    ],
)
def test_no_notes_for_an_undated_missing_or_empty_section(version: str, said: str, tmp_path: Path) -> None:
    done = _notes(CRAFTED, version, tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert said in done.stderr, done.stderr


def test_a_section_without_a_date_is_not_released(tmp_path: Path) -> None:
    done = _notes("## [2.0.0]\n\n- text\n", "2.0.0", tmp_path)
    assert done.returncode == 1 and "without a date" in done.stderr


def test_every_dated_section_of_the_real_changelog_gives_notes() -> None:
    headings = re.findall(r"^## \[([^\]]+)\] - (.+)$", CHANGELOG.read_text(encoding="utf-8"), re.M)
    assert headings, "CHANGELOG.md has no '## [X.Y.Z] - ...' section"
    for version, when in headings:
        done = _script(NOTES, version)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
            assert done.returncode == 0 and done.stdout.strip(), (version, done.stderr)
        else:  # only the next release may be undated, and it is refused until it is dated
            assert (version, when) == (VERSION, "Unreleased"), f"[{version}] - {when}: only [{VERSION}] may wait"
            assert done.returncode == 1 and f"date it (## [{version}] - YYYY-MM-DD)" in done.stderr


def test_the_package_version_has_a_changelog_section() -> None:
    # The release's notes come from it: release.yml's build job refuses a version without a dated one.
    assert f"## [{VERSION}] - " in CHANGELOG.read_text(encoding="utf-8")


# --- scripts/gen-action-docs --pin-image ----------------------------------------------------------------------


def test_pin_image_names_the_digest_and_changes_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    docker = tmp_path / "docker" / "action.yml"
    shutil.copy(DOCKER_ACTION, docker)
    shutil.copy(ACTION, tmp_path / "action.yml")
    done = _script(GEN, "--docker-action", docker, "--pin-image", f"{PUBLISHED_IMAGE}@{DIGEST}")
    assert done.returncode == 0, done.stderr
    before, after = load(DOCKER_ACTION), load(docker)
    assert after["runs"]["image"] == f"docker://{PUBLISHED_IMAGE}@{DIGEST}"
    assert {**after, "runs": before["runs"]} == before
    assert after["runs"]["args"] == before["runs"]["args"]
    changed = set(docker.read_text("utf-8").splitlines()) ^ set(DOCKER_ACTION.read_text("utf-8").splitlines())
    assert len(changed) == 2, changed  # the image line, nothing else
    # The generated inputs and outputs are still current, and the pinned file is a valid action.
    readme, doc = tmp_path / "README.md", tmp_path / "reference.md"
    shutil.copy(ROOT / "README.md", readme)
    shutil.copy(ROOT / "docs" / "action-reference.md", doc)
    paths = ("--action", tmp_path / "action.yml", "--docker-action", docker, "--readme", readme, "--doc", doc)
    check = _script(GEN, *paths, "--check")
    assert check.returncode == 0, check.stderr
    schema = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(docker)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        (f"{PUBLISHED_IMAGE}:1", "wants IMAGE@sha256"),
        (f"{PUBLISHED_IMAGE}@sha256:abc", "wants IMAGE@sha256"),
        (f"ghcr.io/someone-else/streampixel-deploy@{DIGEST}", "refusing to swap images"),
    ],
)
def test_pin_image_refuses_a_tag_a_short_digest_or_another_image(reference: str, said: str, tmp_path: Path) -> None:
    docker = tmp_path / "action.yml"
    shutil.copy(DOCKER_ACTION, docker)
    done = _script(GEN, "--docker-action", docker, "--pin-image", reference)
    assert done.returncode != 0 and said in done.stderr, done.stderr
    assert docker.read_text("utf-8") == DOCKER_ACTION.read_text("utf-8")


def test_main_runs_the_major_tag_of_the_image_release_pushes() -> None:
    # No image of an unreleased commit exists: main names the major tag, release commits the digest.
    image = str(load(DOCKER_ACTION)["runs"]["image"])
    name, _, tag = image.removeprefix("docker://").rpartition(":")
    assert name == PUBLISHED_IMAGE and tag.isdigit(), image


# --- release.yml ------------------------------------------------------------------------------------------------


def test_every_job_gets_only_what_it_needs() -> None:
    doc = load(RELEASE)
    assert doc["permissions"] == {}
    grants = {name: job.get("permissions") for name, job in doc["jobs"].items()}
    assert all(isinstance(g, dict) for g in grants.values()), grants
    writers = {name for name, g in grants.items() if "write" in g.values()}
    assert {name for name, g in grants.items() if g.get("contents") == "write"} == {"release"}
    assert grants["release"] == {"contents": "write"}
    assert grants["pypi"] == {"id-token": "write"}, "trusted publishing needs id-token: write and nothing else"
    assert grants["smoke"] == {"packages": "read"}
    assert writers == {"pypi", "image", "release"}


def test_nothing_is_tagged_or_released_before_pypi_and_the_smoked_image() -> None:
    jobs = load(RELEASE)["jobs"]
    assert {"build", "pypi", "image", "smoke"} <= _needs(jobs, "release")
    assert "image" in _needs(jobs, "smoke")
    for name, job in jobs.items():
        if name != "release":
            assert "git/refs" not in _runs(job) and "gh release" not in _runs(job), name
    release = _runs(jobs["release"])
    assert "gh release create" in release and "--verify-tag" in release and "--notes-file" in release


def test_release_is_run_by_hand_on_main_and_checks_the_version_before_publishing() -> None:
    doc = load(RELEASE)
    on: dict[str, Any] = doc.get("on") or doc[True]  # type: ignore[index]  # YAML 1.1 reads `on` as True
    assert set(on) == {"workflow_dispatch"}, "a release tag is made by the workflow, on the release commit"
    build = doc["jobs"]["build"]
    assert "github.ref == 'refs/heads/main'" in build["if"]
    checks = _runs(build)
    assert "scripts/release-notes" in checks and "_version.py" in checks and "git/ref/tags/" in checks


FAKE_GH = """#!{python}
import json, os, sys
args = sys.argv[1:]
body = sys.stdin.read() if "--input" in args else None
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "input": json.loads(body) if body else None}}) + "\\n")
path = next((a for a in args[1:] if a.startswith("repos/")), "")
kind = path[path.index("/git/"):] if "/git/" in path else ""
answers = {{"/git/blobs": "blob-sha", "/git/trees": "tree-sha", "/git/commits": "release-sha"}}
if kind == "/git/commits/source-sha":
    print("base-tree")
elif kind.startswith("/git/ref/tags/"):
    sys.exit(1)  # no major tag yet
elif kind in answers:
    print(answers[kind])
"""
SOURCE_SHA, RELEASE_SHA, NEXT, MAJOR = "source-sha", "release-sha", "9.8.7", "9"


def _gh_calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _fields(args: list[str]) -> dict[str, str]:
    """The ``-f``/``-F`` fields of a ``gh api`` call."""
    return dict(v.partition("=")[::2] for k, v in itertools.pairwise(args) if k in ("-f", "-F"))


def test_release_tags_and_releases_a_commit_whose_docker_action_names_the_smoked_digest(tmp_path: Path) -> None:
    """The release job's steps run in bash with a fake gh that records every call: the release commit is the
    source commit plus docker/action.yml pinned to the smoked digest, and the version tag, the GitHub Release
    and the major tag all name that commit, never the source commit."""
    bash = shutil.which("bash")
    if not bash or not shutil.which("jq") or not shutil.which("base64"):
        pytest.skip("the release job's steps need bash, jq and base64")
    doc = load(RELEASE)
    (tmp_path / "bin").mkdir()
    gh = tmp_path / "bin" / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable), encoding="utf-8")
    gh.chmod(0o755)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "docker").mkdir()
    shutil.copy(GEN, tmp_path / "scripts" / "gen-action-docs")
    shutil.copy(DOCKER_ACTION, tmp_path / "docker" / "action.yml")
    outputs: dict[str, str] = {}
    context = {
        "github.sha": SOURCE_SHA,
        "github.token": "ghs_fake",
        "github.repository": "octo-org/streampixel-deploy",
        "needs.image.outputs.digest": DIGEST,
        "needs.build.outputs.version": NEXT,
        "needs.build.outputs.major": MAJOR,
    }
    for step in doc["jobs"]["release"]["steps"]:
        if "run" not in step:
            continue  # the checkout
        if "scripts/release-notes" in step["run"]:
            (tmp_path / "notes.md").write_text("notes\n", encoding="utf-8")  # its script is tested above
            continue
        env = {name: _expand(str(value), context, outputs) for name, value in step.get("env", {}).items()}
        github_output = tmp_path / "github_output"
        github_output.write_text("", encoding="utf-8")
        env.update(
            PATH=f"{tmp_path / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin",
            IMAGE=doc["env"]["IMAGE"],
            GH_LOG=str(tmp_path / "gh.log"),
            RUNNER_TEMP=str(tmp_path),
            GITHUB_OUTPUT=str(github_output),
            GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        )
        done = subprocess.run(
            [bash, "-e", "-c", step["run"]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (step["name"], done.stderr)
        if step.get("id"):
            outputs.update({f"steps.{step['id']}.outputs.{k}": v for k, _, v in _lines(github_output)})
    calls = _gh_calls(tmp_path / "gh.log")
    api = [c for c in calls if c["args"][0] == "api"]
    (blob,) = [c for c in api if c["args"][1].endswith("/git/blobs")]
    pinned = yaml.safe_load(base64.b64decode(_fields(blob["args"])["content"]))
    assert pinned["runs"]["image"] == f"docker://{PUBLISHED_IMAGE}@{DIGEST}"
    (tree,) = [c["input"] for c in api if c["args"][1].endswith("/git/trees")]
    assert tree["base_tree"] == "base-tree"  # the source commit's tree
    assert [(e["path"], e["sha"]) for e in tree["tree"]] == [("docker/action.yml", "blob-sha")]
    (commit,) = [c["input"] for c in api if c["args"][1].endswith("/git/commits")]
    assert commit["parents"] == [SOURCE_SHA] and commit["tree"] == "tree-sha"
    refs = {f["ref"]: f["sha"] for f in (_fields(c["args"]) for c in api) if "ref" in f}
    assert refs == {f"refs/tags/v{NEXT}": RELEASE_SHA, f"refs/tags/v{MAJOR}": RELEASE_SHA}
    (release,) = [c["args"] for c in calls if c["args"][:2] == ["release", "create"]]
    assert release[2] == f"v{NEXT}" and "--verify-tag" in release  # the tag made above, never a new one
    notes = (tmp_path / "notes.md").read_text(encoding="utf-8")
    assert f"@{RELEASE_SHA} # v{NEXT}" in notes and SOURCE_SHA not in notes


def _expand(value: str, context: dict[str, str], outputs: dict[str, str]) -> str:
    """A step's env value with its ``${{ … }}`` expressions replaced (only the names the release job uses)."""
    known = {**context, **outputs}
    return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: known[m[1]], value)


def _lines(path: Path) -> list[tuple[str, str, str]]:
    return [line.partition("=") for line in path.read_text(encoding="utf-8").splitlines() if "=" in line]


def test_release_job_pins_docker_action_yml_as_the_workflow_runs_it(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if not bash:
        pytest.skip("bash is not on PATH")
    doc = load(RELEASE)
    (pin,) = [s for s in doc["jobs"]["release"]["steps"] if "--pin-image" in s.get("run", "")]
    (tmp_path / "scripts").mkdir()
    (tmp_path / "docker").mkdir()
    shutil.copy(GEN, tmp_path / "scripts" / "gen-action-docs")
    shutil.copy(DOCKER_ACTION, tmp_path / "docker" / "action.yml")
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "IMAGE": doc["env"]["IMAGE"], "DIGEST": DIGEST}
    done = subprocess.run(
        [bash, "-e", "-c", pin["run"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    pinned = yaml.safe_load((tmp_path / "docker" / "action.yml").read_text("utf-8"))
    assert pinned["runs"]["image"] == f"docker://{PUBLISHED_IMAGE}@{DIGEST}"


def test_release_publishes_the_one_checked_build_to_pypi_with_trusted_publishing() -> None:
    jobs = load(RELEASE)["jobs"]
    build, pypi = jobs["build"], jobs["pypi"]
    assert "scripts/package-check --outdir dist" in _runs(build)
    (upload,) = _steps_using(build, "actions/upload-artifact")
    (download,) = _steps_using(pypi, "actions/download-artifact")
    assert upload["with"]["name"] == download["with"]["name"]
    assert pypi["environment"]["name"] == "pypi"
    (publish,) = _steps_using(pypi, "pypa/gh-action-pypi-publish")
    assert publish["with"]["attestations"] is True
    assert not any("password" in s.get("with", {}) for s in pypi["steps"]), "no API token: trusted publishing"


def test_release_pushes_the_image_with_provenance_and_its_three_tags() -> None:
    doc = load(RELEASE)
    assert doc["env"]["IMAGE"] == PUBLISHED_IMAGE
    image = doc["jobs"]["image"]
    (push,) = _steps_using(image, "docker/build-push-action")
    assert push["with"]["push"] is True and push["with"]["provenance"] and push["with"]["sbom"] is True
    (attest,) = _steps_using(image, "actions/attest-build-provenance")
    assert attest["with"]["push-to-registry"] is True
    (meta,) = _steps_using(image, "docker/metadata-action")
    for part in ("version", "minor", "major"):
        assert f"needs.build.outputs.{part} }}}}" in meta["with"]["tags"], f"no X.Y.Z / X.Y / X tag from {part}"

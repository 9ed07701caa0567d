"""deploy: validate -> host -> submit -> follow."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from streampixel_deploy.api.models import BuildStatus, Outcome, Project, Result, live_label
from streampixel_deploy.build.archive import directory_digest, folder_executables, verify
from streampixel_deploy.build.remote import compare_live
from streampixel_deploy.core.errors import ApiError, ArchiveError, InputError, ref
from streampixel_deploy.core.redact import redact_url
from streampixel_deploy.hosting import Upload
from streampixel_deploy.run.context import Run
from streampixel_deploy.run.follow import follow
from streampixel_deploy.run.submit import NotConfirmed, same_file, submit


def deploy(run: Run) -> Result:
    hosted_url, known_ids = prepare(run)
    return run.result if hosted_url is None else deliver(run, hosted_url, known_ids)


def prepare(run: Run, also: Callable[[], None] = lambda: None) -> tuple[str | None, set[str]]:
    """Validate, package and host the build once: the URL Streampixel will download (None after a dry run,
    which then has its result) and the project's build IDs before submitting. ``also`` runs once the
    credentials and the project are known good, before packaging and hosting (other projects' reads)."""
    s, r, reporter = run.settings, run.result, run.reporter
    with reporter.group("validate"):
        zip_path, identity = s.zip_path, None
        if zip_path is not None:  # instant (central directory only): before any request
            identity = _verify(run, zip_path, ref("zip-path"))
        project = run.read_project_if_possible("check credentials and project")
        known_ids = {b.id for b in project.files} if project is not None else set()
        if project is not None:
            run.note_previous(project)
        also()
        if s.build_dir is not None:
            _check_folder(run, s.build_dir)  # seconds, before the minutes of packaging
            if not s.dry_run:  # minutes for a big build: only once the credentials are known good
                zip_path = _package(run, s.build_dir)
                identity = _verify(run, zip_path, ref("build-dir"))
        if zip_path is not None and project is not None:  # what changed since the live build: never fails a deploy
            live = project.find(r.previous_upload_id or "")
            if s.rehearsal and live is not None:  # its URL leads nowhere by design (emulator/seeding.py)
                reporter.info(
                    f"No comparison with the live build {live.id}: a rehearsal's earlier builds have no zip to read."
                )
            else:
                r.changes = compare_live(zip_path, live, run.clock, reporter)
        if run.host is None:
            raise InputError("No hosting is configured for zip-path.", "zip-path")
        if s.dry_run:
            run.host.check(reporter)
            end_dry_run(run, project)
            return None, known_ids

    with reporter.group("host"):
        run.clock.check("hosting the build")
        upload = Upload(zip_path, s.project_id, r.sha256, run.clock.remaining, directory_digest=identity)
        hosted = run.host.host(upload, reporter)
        r.file_url, r.file_url_signed = hosted.display_url, hosted.signed
        r.sha256 = hosted.sha256 or r.sha256
        r.size_bytes = hosted.size_bytes if hosted.size_bytes is not None else r.size_bytes
        reporter.info(f"Build hosted at {hosted.display_url}")
    return hosted.url, known_ids


def deliver(run: Run, hosted_url: str, known_ids: set[str]) -> Result:
    """Submit the hosted build to the run's project and follow it to its verdict."""
    s, r, reporter = run.settings, run.result, run.reporter
    with reporter.group("submit"):
        try:
            upload_id = submit(run, hosted_url, known_ids)
        except NotConfirmed as exc:
            r.exit_code, r.error_title = exc.exit_code, exc.title
            return run.end_with(Outcome.SUBMITTED, exc.message)
        r.upload_id = upload_id
        r.status = BuildStatus.PENDING.value
        reporter.info(
            f"Streampixel accepted the build: upload ID {upload_id} (autoRelease={str(s.auto_release).lower()})."
        )
        run.record_submission()
    if not s.wait:
        return run.end_with(
            Outcome.SUBMITTED, f"Build {upload_id} submitted; not waiting for processing (wait: false)."
        )
    if not run.can_follow:
        return run.end_with(
            Outcome.SUBMITTED,
            f"Build {upload_id} submitted. This Streampixel API cannot report its progress (no Get Project "
            "endpoint), so it was not followed: watch it in the Streampixel dashboard or with the project's webhook.",
        )

    with reporter.group("follow"):
        build = follow(run, upload_id, expect_distribution=s.auto_release)
    if build.url and not same_file(build.url, hosted_url):
        raise ApiError(
            f"Streampixel answered upload ID {upload_id} to this run's upload-file, but its builds list {upload_id} "
            f"with another fileUrl ({redact_url(build.url)}): it is not this run's build, so it is not reported as "
            "deployed. Check the project's builds in the dashboard."
        )
    label = live_label(build.raw_status)  # the dashboard's words say it outright (Current Live Build / Archived)
    if not s.auto_release:
        r.live = False if label is None else label
        return run.end_with(
            Outcome.APPROVED,
            f"Build {build.id} approved but not live (auto-release: false); make it live with command: "
            f"distribute and upload-id: {build.id} (CLI: streampixel-deploy distribute --upload-id {build.id})",
        )
    return run.approved(
        build,
        f"Build {build.id} approved and live.",
        f"Build {build.id} approved; Streampixel did not show it being distributed, so whether it is live yet is "
        "unknown. Check the project in the Streampixel dashboard.",
    )


def _check_folder(run: Run, build_dir: Path) -> None:
    exes = folder_executables(build_dir)
    if not exes and run.settings.verify_archive != "off":
        raise ArchiveError(
            f"{ref('build-dir')} {str(build_dir)!r} has no Windows .exe at its root or inside "
            "one top-level folder; give the folder 'Package Project -> Windows' produced (it holds MyGame.exe).",
            "build-dir",
        )
    run.reporter.info(f"Build folder {build_dir}: executable {exes[0] if exes else '(not checked)'}.")


def _package(run: Run, build_dir: Path) -> Path:
    from streampixel_deploy.build.packaging import package_dir

    out_dir = Path(tempfile.mkdtemp(prefix="streampixel-build-"))
    run.temp_dirs.append(out_dir)
    zip_path = out_dir / f"{build_dir.resolve().name or 'build'}.zip"
    packed = package_dir(
        build_dir,
        zip_path,
        run.reporter,
        exclude=run.settings.build_dir_exclude,
        require_exe=run.settings.verify_archive != "off",
    )
    run.result.sha256 = packed.sha256
    run.result.size_bytes = packed.size_bytes
    left_out = f", {packed.excluded:,} path(s) left out by build-dir-exclude" if packed.excluded else ""
    run.reporter.info(
        f"Packaged {build_dir} into {zip_path.name}: {packed.size_bytes:,} bytes, sha256 {packed.sha256}{left_out}."
    )
    return zip_path


def _verify(run: Run, zip_path: Path, setting: str) -> str | None:
    """The archive check; returns the zip's directory digest (what S3 hosting names the build by)."""
    mode = run.settings.verify_archive
    report = verify(zip_path, mode, setting, digest=True)
    run.result.size_bytes = zip_path.stat().st_size
    if report is None:
        run.reporter.info("Archive check skipped (verify-archive: off).")
        return directory_digest(zip_path)
    run.reporter.info(
        f"Archive {zip_path.name} ({mode} check): {report.entries} files, "
        f"{report.size_bytes:,} bytes, executable {report.executables[0]}."
    )
    for warning in report.warnings:
        run.reporter.warning(warning, "Large archive")
    sizes = report.size_report()
    run.result.build_size = sizes.to_json()
    for suspect in sizes.suspects:
        run.reporter.warning(
            f"{zip_path.name!r} holds {suspect.files:,} file(s) of {suspect.kind} ({suspect.bytes:,} bytes, such as "
            f"{suspect.example!r}): {suspect.why}. To ship less, {suspect.fix}.",
            "Build size",
        )
    return report.directory_digest


def end_dry_run(run: Run, project: Project | None) -> Result:
    """A dry run's end: what would be hosted and submitted to the run's project."""
    s = run.settings
    source = f"file-url {s.file_url}" if s.file_url else f"zip {s.zip_path or s.build_dir}"
    return run.end_with(
        Outcome.DRY_RUN,
        (
            f"Dry run: would host {source} via {run.host.name if run.host else 'nothing'} and submit it to project "
            f"{(project.name or project.id) if project else s.project_id} with "
            f"autoRelease={str(s.auto_release).lower()}"
            f"{', then wait for approval' if s.wait else ''}. Nothing was uploaded or submitted."
        ),
    )

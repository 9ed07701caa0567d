# streampixel-deploy as a container: the same program and the same hash-locked requirements as the composite action.
#
#   docker run --rm -e STREAMPIXEL_API_KEY ... IMAGE deploy --zip-path build.zip   # the CLI
#   docker run --rm IMAGE --version | demo                                         # anything the CLI takes
#   docker run --rm -e INPUT_API-KEY=... IMAGE                                     # no arguments: the action face
#
# The base is pinned by digest (multi-arch index of python:3.12-slim). Any Debian-like image with python3 >= 3.10
# and its venv module can replace it, for example a local debootstrap base for offline builds:
#   podman build --build-arg BASE_IMAGE=localhost/streampixel-base:bookworm .   (see scripts/container-smoke)
#
# Three stages, so the image holds only what runs (sizes and what each cut saves: docs/container.md):
#   build   the venv from the lock, without pip, the build backend, PyGithub's stack or unused botocore models;
#   rootfs  the base without what no program reads at run time (documentation, translations, pip, ensurepip);
#   final   that file system as one layer (files deleted in a later layer would still be shipped).
ARG BASE_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE_IMAGE} AS build
# Only for builds behind a TLS-intercepting proxy: a CA bundle mounted into the build (scripts/container-smoke).
ARG PIP_CERT=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# /opt/tools: pip and the locked build backend, used here only. /opt/streampixel-deploy: the runtime venv, made
# without pip; the tools' pip installs into it (--python).
COPY requirements/runtime.txt requirements/build.txt requirements/
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && python3 -m venv /opt/tools \
    && /opt/tools/bin/python -m pip install --require-hashes -r requirements/build.txt \
    && python3 -m venv --without-pip /opt/streampixel-deploy \
    && /opt/tools/bin/python -m pip --python /opt/streampixel-deploy/bin/python install --require-hashes \
       -r requirements/runtime.txt
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY docker/slim-venv.py /opt/tools/
# PyGithub and its crypto stack (PyJWT, PyNaCl, cryptography, cffi, pycparser, typing-extensions) are locked
# because actions-toolkit depends on PyGithub, but the program imports only actions_toolkit.core/command, which
# do not use it: about 27 MB the image does not ship. slim-venv.py then cuts botocore's data to the services
# used and fails the build unless every module of the package imports and boto3's clients still load.
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && /opt/tools/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && /opt/tools/bin/python -m pip --python /opt/streampixel-deploy/bin/python install --no-deps /wheels/*.whl \
    && /opt/tools/bin/python -m pip --python /opt/streampixel-deploy/bin/python uninstall --yes \
       pygithub pyjwt pynacl cryptography cffi pycparser typing-extensions \
    && /opt/streampixel-deploy/bin/python /opt/tools/slim-venv.py \
    && /opt/streampixel-deploy/bin/python -m compileall -q /opt/streampixel-deploy/lib

FROM ${BASE_IMAGE} AS rootfs
# Nothing here is read at run time: documentation, man pages, message translations, package lists and logs, and
# the base interpreter's own pip/setuptools/wheel and ensurepip (the program's venv has no pip; nothing in the
# image makes venvs). The C.UTF-8 locale (/usr/lib/locale) and the CA certificates stay.
RUN rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* /usr/share/lintian \
           /usr/share/python-wheels /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
           /usr/lib/python3*/ensurepip /usr/local/lib/python3*/ensurepip \
           /usr/local/lib/python3*/site-packages/pip /usr/local/lib/python3*/site-packages/pip-* \
           /usr/local/lib/python3*/site-packages/setuptools* /usr/local/lib/python3*/site-packages/wheel* \
           /usr/local/lib/python3*/site-packages/_distutils_hack /usr/local/lib/python3*/site-packages/distutils-* \
           /usr/local/bin/pip /usr/local/bin/pip3*
COPY --from=build /opt/streampixel-deploy /opt/streampixel-deploy

FROM scratch
# Copying the whole file system is the point (DL3067): it squashes rootfs into one layer, without the files the
# stage deleted, which the base's layers would otherwise still ship.
# hadolint ignore=DL3067
COPY --from=rootfs / /
LABEL org.opencontainers.image.title="streampixel-deploy" \
      org.opencontainers.image.description="Deploy packaged Unreal Engine builds to Streampixel." \
      org.opencontainers.image.licenses="MIT"
# uid 1001 is the runner user of GitHub-hosted runners: as a Docker action the container can then append to the
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files and read the workspace that the runner owns.
RUN groupadd --gid 1001 streampixel \
    && useradd --uid 1001 --gid 1001 --create-home --home-dir /home/streampixel --shell /usr/sbin/nologin streampixel
ENV PATH=/opt/streampixel-deploy/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONUTF8=1
USER 1001:1001
WORKDIR /home/streampixel
ENTRYPOINT ["/opt/streampixel-deploy/bin/python", "-m", "streampixel_deploy"]
CMD ["action"]

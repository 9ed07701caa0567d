# streampixel-deploy as a container: the same program and the same hash-locked requirements as the composite action.
#
#   docker run --rm -e STREAMPIXEL_API_KEY ... IMAGE deploy --zip-path build.zip   # the CLI
#   docker run --rm IMAGE --version | demo                                         # anything the CLI takes
#   docker run --rm -e INPUT_API-KEY=... IMAGE                                     # no arguments: the action face
#
# The base is pinned by digest (multi-arch index of python:3.12-slim). Any Debian-like image with python3 >= 3.10
# and its venv module can replace it, for example a local debootstrap base for offline builds:
#   podman build --build-arg BASE_IMAGE=localhost/streampixel-base:bookworm .   (see scripts/container-smoke)
ARG BASE_IMAGE=python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

FROM ${BASE_IMAGE} AS build
# Only for builds behind a TLS-intercepting proxy: a CA bundle mounted into the build (scripts/container-smoke).
ARG PIP_CERT=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/runtime.txt requirements/build.txt requirements/
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && python3 -m venv /opt/streampixel-deploy \
    && /opt/streampixel-deploy/bin/python -m pip install --require-hashes \
       -r requirements/runtime.txt -r requirements/build.txt
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && /opt/streampixel-deploy/bin/python -m pip install --no-deps --no-build-isolation /src \
    && /opt/streampixel-deploy/bin/python -m pip uninstall --yes pip \
    && /opt/streampixel-deploy/bin/python -m compileall -q /opt/streampixel-deploy/lib

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="streampixel-deploy" \
      org.opencontainers.image.description="Deploy packaged Unreal Engine builds to Streampixel." \
      org.opencontainers.image.licenses="MIT"
# uid 1001 is the runner user of GitHub-hosted runners: as a Docker action the container can then append to the
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files and read the workspace that the runner owns.
RUN groupadd --gid 1001 streampixel \
    && useradd --uid 1001 --gid 1001 --create-home --home-dir /home/streampixel --shell /usr/sbin/nologin streampixel
COPY --from=build /opt/streampixel-deploy /opt/streampixel-deploy
ENV PATH=/opt/streampixel-deploy/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONUTF8=1
USER 1001:1001
WORKDIR /home/streampixel
ENTRYPOINT ["/opt/streampixel-deploy/bin/python", "-m", "streampixel_deploy"]
CMD ["action"]

# syntax=docker/dockerfile:1
# idverify daemon image. Build: docker build -t idverify .
# Run (real devices; see README "Devices" and drivers/). /run/pcscd is the host's pcscd socket (recommended for
# PC/SC passport readers); /dev/idverify-* are the stable names from drivers/99-idverify.rules. The lines below
# paste into a shell as they are (without the leading "# "):
#   docker run -d --name idverify -p 127.0.0.1:8700:8700 -v idverify-data:/var/lib/idverify \
#     -v /run/pcscd:/run/pcscd \
#     --device /dev/idverify-idreader --device /dev/idverify-finger --device /dev/video0 \
#     --group-add dialout --group-add video \
#     -e IDVERIFY_ID_READER_PORT=/dev/idverify-idreader -e IDVERIFY_FINGERPRINT_PORT=/dev/idverify-finger \
#     -e IDVERIFY_CAMERA=0 \
#     idverify
# Migrate explicitly — once, after installing or updating the image, from one machine — before starting it:
#   docker run --rm -v idverify-data:/var/lib/idverify idverify idverify db upgrade
# (PostgreSQL: add -e IDVERIFY_DATABASE_URL=…; `idverify db upgrade --sql` prints the SQL for a DBA instead.)
# The image holds no sample data and downloads nothing at run time; models ship inside the package.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpcsclite-dev swig \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
COPY models ./models
COPY hardware_fixtures ./hardware_fixtures
RUN python -m venv /opt/idverify \
 && /opt/idverify/bin/pip install --no-cache-dir --upgrade pip wheel \
 && /opt/idverify/bin/pip install --no-cache-dir -c constraints.txt . \
 # face_recognition asks for the dlib sdist (a long compile); dlib-bin already provides the module.
 && /opt/idverify/bin/pip install --no-cache-dir --no-deps 'face_recognition>=1.3,<1.4'

FROM ${PYTHON_IMAGE}
# libpcsclite1: the PC/SC client library pyscard loads. pcscd + libccid let the container run its own PC/SC
# daemon when the host's socket is not mounted (then it needs --device for the USB reader and runs pcscd as root:
# prefer the host socket). tini reaps children and forwards signals. fonts-wqy-microhei: the CJK font embedded
# in the monthly PDF report.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcsclite1 pcscd libccid tini fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --gid nogroup --groups dialout,video --home-dir /var/lib/idverify \
      --create-home --shell /usr/sbin/nologin idverify
COPY --from=build /opt/idverify /opt/idverify
ENV PATH=/opt/idverify/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IDVERIFY_DATA_DIR=/var/lib/idverify \
    IDVERIFY_HOST=0.0.0.0 \
    IDVERIFY_PORT=8700 \
    NUMBA_CACHE_DIR=/var/lib/idverify/.numba-cache
USER idverify
WORKDIR /var/lib/idverify
VOLUME ["/var/lib/idverify"]
EXPOSE 8700
# The check follows IDVERIFY_PORT (docker run -e IDVERIFY_PORT=9000 moves both).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('IDVERIFY_PORT', '8700'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Serve only: starting never migrates (two workstations starting at once must not both alter one schema); the
# daemon refuses an outdated database and names `idverify db upgrade`.
CMD ["idverify", "serve"]

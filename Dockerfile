# The pipeline's image: every component is `consent <command>` (deploy/compose/, deploy/kubernetes/).
#   docker build -t consent-pipeline:0.1.0 .
# Python 3.11 slim, the project installed into its own virtual environment (pinned versions from
# pyproject.toml), run as a non-root user. openssl is there for deploy/compose/init-secrets.sh,
# which makes the compose stack's CA and broker certificate with this image.
FROM python:3.11.13-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/consent && /opt/consent/bin/pip install --no-cache-dir pip==25.3
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY consent_table consent_table
COPY streams streams
COPY sinks sinks
COPY sources sources
COPY ops ops
COPY bench bench
RUN /opt/consent/bin/pip install --no-cache-dir .

FROM python:3.11.13-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*
# uid 10001: no clash with a host user; the folders exist in the image so a named volume
# mounted on them starts owned by this user
RUN groupadd --system --gid 10001 consent \
    && useradd --system --uid 10001 --gid consent --home-dir /var/lib/consent \
       --shell /usr/sbin/nologin consent \
    && mkdir -p /var/lib/consent/data \
    && chown -R consent:consent /var/lib/consent
COPY --from=build /opt/consent /opt/consent
COPY deploy/docker/entrypoint.sh /usr/local/bin/consent-entrypoint
ENV PATH=/opt/consent/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CONSENT_DATA_DIR=/var/lib/consent/data
WORKDIR /var/lib/consent
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/consent-entrypoint"]
CMD ["consent", "--help"]

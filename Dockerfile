# A minimal image of the static kudo-diag binary, for scheduled collection in the cluster
# (`kudo-diag cron manifest`). Build it with `make image`, which builds the binary (`make
# static`) and this file's context, target/image (`make image-context`), then runs
# `buildah bud` (or `docker build`) with that context:
#
#   buildah --storage-driver vfs bud --isolation chroot -t kudo-diag:VERSION -f Dockerfile target/image
#
# FROM scratch: nothing is pulled (airgapped builds work) and the image holds only the binary
# (static: no libc, no loader), the CA bundle for uploads to object storage over TLS (rustls
# reads the platform's roots from /etc/ssl/certs), /etc/passwd and /etc/group naming the
# nonroot user, a sticky /tmp (HOME in the CronJob) and /bundles. No shell, no package manager.
FROM scratch

# OCI image annotations (https://specs.opencontainers.org/image-spec/annotations/). `make image`
# passes the version from Cargo.toml, the git commit and the build time.
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kudo-diag" \
      org.opencontainers.image.description="Diagnostics for KUDO Kubernetes operators: preflight, resumable collection into one bundle, and analysis" \
      org.opencontainers.image.source="https://github.com/kudo-diag/kudo-diag" \
      org.opencontainers.image.url="https://github.com/kudo-diag/kudo-diag" \
      org.opencontainers.image.documentation="https://github.com/kudo-diag/kudo-diag/blob/main/docs/install.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY rootfs/ /
COPY --chown=65532:65532 bundles/ /bundles/
COPY kudo-diag /usr/local/bin/kudo-diag

# The CronJob mounts its bundles volume here; the user matches its securityContext.
WORKDIR /bundles
USER 65532:65532
ENV NO_COLOR=1

ENTRYPOINT ["/usr/local/bin/kudo-diag"]
CMD ["version"]

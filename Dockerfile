# A minimal image of the static kudo-diag binary, for scheduled collection in the cluster
# (`kudo-diag cron manifest`). Build the binary first: `make static` (or `make image`).
#
# distroless/static has no shell and no package manager, only CA certificates (for uploads to
# object storage over TLS), /etc/passwd with the nonroot user, and tzdata.
FROM gcr.io/distroless/static-debian12:nonroot

COPY target/x86_64-unknown-linux-musl/release/kudo-diag /usr/local/bin/kudo-diag

# The CronJob mounts its bundles volume here; the user matches its securityContext.
WORKDIR /bundles
USER 65532:65532
ENV NO_COLOR=1

ENTRYPOINT ["/usr/local/bin/kudo-diag"]
CMD ["version"]

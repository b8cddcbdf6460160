# Builds that need more than `cargo build`. Every target is documented in docs/install.md.
#
#   make static        fully static Linux x86_64 binary (musl; rustls with ring, no OpenSSL)
#   make static-test   build it, then run `version` and a collection against the simulated
#                      cluster with it, build the image and run it (.ci/static-test.sh)
#   make image         container image from the static binary (Dockerfile; buildah, else docker)
#   make man           man pages into target/man (generated from the clap definitions)
#   make completions   bash, zsh and fish completions into target/completions

MUSL_TARGET := x86_64-unknown-linux-musl
STATIC_BIN  ?= target/$(MUSL_TARGET)/release/kudo-diag
VERSION     := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE       ?= kudo-diag:$(VERSION)
# The image's OCI labels (Dockerfile): version, commit and build time.
REVISION    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
CREATED     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
IMAGE_ARGS  := --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg CREATED=$(CREATED)
CARGO       ?= cargo
# The image's build context: the binary and the few files a FROM scratch image needs. Kept
# apart from the repository so the context is kilobytes, not the whole target/ folder.
IMAGE_CTX   := target/image
# The CA bundle copied into the image: kube and object_store use rustls with the platform's
# roots (rustls-native-certs), which reads /etc/ssl/certs/ca-certificates.crt.
CA_BUNDLE   ?= /etc/ssl/certs/ca-certificates.crt
# buildah without a daemon: vfs storage and chroot isolation work without overlayfs or runc.
BUILDAH     ?= buildah --storage-driver vfs

.PHONY: static static-test image image-context image-build man completions

# ring's C and assembly parts are compiled with musl-gcc (Debian/Ubuntu: apt-get install
# musl-tools). crt-static links musl in; relocation-model=static makes a classic static
# executable rather than rustc's default static PIE, so `file` says "statically linked" and
# glibc's ldd "not a dynamic executable" (a static PIE carries its own loader stub, which ldd
# reports as "statically linked" instead).
static:
	@command -v musl-gcc >/dev/null || { echo "musl-gcc not found: install musl-tools (apt-get install -y musl-tools)" >&2; exit 1; }
	rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET)
	CC_x86_64_unknown_linux_musl=musl-gcc \
	RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
	  $(CARGO) build --locked --release --target $(MUSL_TARGET) --bin kudo-diag
	@file $(STATIC_BIN)

static-test: static
	bash .ci/static-test.sh $(STATIC_BIN)

image: static
	$(MAKE) image-build

# FROM scratch holds only what is copied in: the binary, the CA bundle, /etc/passwd and
# /etc/group with the nonroot user (65532, as in the CronJob's securityContext), a sticky /tmp
# and /bundles owned by that user.
image-context:
	@test -x $(STATIC_BIN) || { echo "$(STATIC_BIN) is missing: run \`make static\` first" >&2; exit 1; }
	@test -s $(CA_BUNDLE) || { echo "$(CA_BUNDLE) is missing: install ca-certificates or set CA_BUNDLE=FILE" >&2; exit 1; }
	rm -rf $(IMAGE_CTX)
	mkdir -p $(IMAGE_CTX)/rootfs/etc/ssl/certs $(IMAGE_CTX)/rootfs/tmp $(IMAGE_CTX)/bundles
	chmod 1777 $(IMAGE_CTX)/rootfs/tmp
	cp $(STATIC_BIN) $(IMAGE_CTX)/kudo-diag
	cp $(CA_BUNDLE) $(IMAGE_CTX)/rootfs/etc/ssl/certs/ca-certificates.crt
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
	  > $(IMAGE_CTX)/rootfs/etc/passwd
	printf 'root:x:0:\nnonroot:x:65532:\n' > $(IMAGE_CTX)/rootfs/etc/group

image-build: image-context
	@if command -v buildah >/dev/null; then \
	  echo "$(BUILDAH) bud --isolation chroot $(IMAGE_ARGS) -t $(IMAGE) -f Dockerfile $(IMAGE_CTX)"; \
	  $(BUILDAH) bud --isolation chroot $(IMAGE_ARGS) -t $(IMAGE) -f Dockerfile $(IMAGE_CTX); \
	elif command -v docker >/dev/null; then \
	  echo "docker build $(IMAGE_ARGS) -t $(IMAGE) -f Dockerfile $(IMAGE_CTX)"; \
	  docker build $(IMAGE_ARGS) -t $(IMAGE) -f Dockerfile $(IMAGE_CTX); \
	else \
	  echo "neither buildah nor docker found: install buildah (apt-get install -y buildah) or docker" >&2; exit 1; \
	fi

man:
	$(CARGO) run --quiet --bin kudo-diag -- man --dir target/man

completions:
	mkdir -p target/completions
	for sh in bash zsh fish; do \
	  $(CARGO) run --quiet --bin kudo-diag -- completions $$sh > target/completions/kudo-diag.$$sh; \
	done

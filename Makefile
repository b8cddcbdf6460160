# Builds that need more than `cargo build`. Every target is documented in docs/install.md.
#
#   make static        fully static Linux x86_64 binary (musl; rustls with ring, no OpenSSL)
#   make static-test   build it, then run `version` and a collection against the simulated
#                      cluster with it (.ci/static-test.sh)
#   make image         container image from the static binary (Dockerfile)
#   make man           man pages into target/man (generated from the clap definitions)
#   make completions   bash, zsh and fish completions into target/completions

MUSL_TARGET := x86_64-unknown-linux-musl
STATIC_BIN  := target/$(MUSL_TARGET)/release/kudo-diag
IMAGE       ?= kudo-diag:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
CARGO       ?= cargo

.PHONY: static static-test image man completions

# ring's C and assembly parts are compiled with musl-gcc (Debian/Ubuntu: apt-get install
# musl-tools). crt-static makes the result self-contained; `file` says "statically linked".
static:
	@command -v musl-gcc >/dev/null || { echo "musl-gcc not found: install musl-tools (apt-get install -y musl-tools)" >&2; exit 1; }
	rustup target list --installed | grep -qx $(MUSL_TARGET) || rustup target add $(MUSL_TARGET)
	CC_x86_64_unknown_linux_musl=musl-gcc \
	RUSTFLAGS="-C target-feature=+crt-static" \
	  $(CARGO) build --locked --release --target $(MUSL_TARGET) --bin kudo-diag
	@file $(STATIC_BIN)

static-test: static
	bash .ci/static-test.sh $(STATIC_BIN)

image: static
	docker build -t $(IMAGE) .

man:
	$(CARGO) run --quiet --bin kudo-diag -- man --dir target/man

completions:
	mkdir -p target/completions
	for sh in bash zsh fish; do \
	  $(CARGO) run --quiet --bin kudo-diag -- completions $$sh > target/completions/kudo-diag.$$sh; \
	done

# Ferrite: top-level tasks. `tools/setup.sh` installs what these need.
FERRITE := bin/ferrite
EXAMPLES_BUILD := build/examples

.PHONY: all demo examples test check lint unit guest bench clean

all: examples

examples:
	cmake -S examples -B $(EXAMPLES_BUILD) -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/ferrite.cmake >/dev/null
	cmake --build $(EXAMPLES_BUILD) -j 2

# Boot the multithreaded example on two vCPUs, the C++ example with its exit status, the
# configuration reader (its root file system is packed into the image), the log writer, and the
# HTTP server on two vCPUs, fetched from the host through a 127.0.0.1 forward with curl.
demo: examples
	@echo "== ferrite run --cpus 2 $(EXAMPLES_BUILD)/parallel/parallel.elf"
	@$(FERRITE) run --cpus 2 $(EXAMPLES_BUILD)/parallel/parallel.elf
	@echo "== ferrite run $(EXAMPLES_BUILD)/hello-cpp/hello-cpp.elf -- 21"
	@$(FERRITE) run $(EXAMPLES_BUILD)/hello-cpp/hello-cpp.elf -- 21; echo "== exit status $$?"
	@echo "== ferrite run $(EXAMPLES_BUILD)/config-reader/config-reader.elf"
	@$(FERRITE) run $(EXAMPLES_BUILD)/config-reader/config-reader.elf
	@echo "== ferrite run $(EXAMPLES_BUILD)/log-writer/log-writer.elf (2 vCPUs)"
	@$(FERRITE) run $(EXAMPLES_BUILD)/log-writer/log-writer.elf
	@echo "== ferrite run --cpus 2 --net user --forward tcp:127.0.0.1:PORT:8080 $(EXAMPLES_BUILD)/http-server/http-server.elf"
	@FERRITE=$(FERRITE) tools/http-demo.sh $(EXAMPLES_BUILD)/http-server/http-server.elf

# The whole test suite: formatting, lints, host unit tests, and the guest tests (every test
# program built as a Ferrite image and as a native musl executable, both run and compared).
test: lint
	cargo test --workspace

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p ferrite-libos -p ferrite-smp -p ferrite-posix --target x86_64-unknown-none -- -D warnings

unit:
	cargo test --workspace --exclude ferrite-guest-tests

guest:
	cargo test -p ferrite-guest-tests

# Benchmarks: Ferrite beside native, a Linux guest and an empty-kernel floor; writes
# bench/results/ and regenerates docs/benchmarks.md (about 5 minutes; see that page).
bench:
	cargo run -q -p ferrite-bench --release -- $(BENCH_ARGS)

clean:
	cargo clean
	rm -rf build

#!/bin/sh
# Set up a Debian 12 / Ubuntu 22.04+ machine for Ferrite: system packages, the pinned Rust
# toolchain (from rust-toolchain.toml, with the x86_64-unknown-none target), and the host tool.
# Safe to run again; run as root or as a user with sudo.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

PACKAGES="build-essential cmake make musl-dev musl-tools libclang-dev qemu-system-x86 \
grub-pc-bin grub-common xorriso mtools curl ca-certificates"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

if ! command -v rustup >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/rustup" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: installing rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
        PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
# rust-toolchain.toml names the toolchain, its components and the kernel target.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup target add x86_64-unknown-none >/dev/null

echo "setup: building the ferrite tool and the kernel"
cargo build -q --release -p ferrite-cli
bin/ferrite build-kernel
echo "setup: done. Try: make demo"

#!/usr/bin/env bash
# Runs one of edgecase's fuzz targets with cargo fuzz on the stable toolchain:
#
#   fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]
#
# TARGET is config, fault_header, origin_response or visitor_request; SECONDS defaults to 600.
# New inputs go to fuzz/corpus/TARGET (not committed); the committed seeds in fuzz/seeds/TARGET
# are read as a second corpus. Crashes land in fuzz/artifacts/TARGET/.
#
# Stable Rust has no -Zsanitizer, so the default is `-s none` (libFuzzer's coverage, no
# AddressSanitizer: edgecase has no unsafe code of its own, and Rust panics, overflow checks
# and debug assertions still crash). EDGECASE_FUZZ_SANITIZER=address asks for ASan, which on a
# stable toolchain needs RUSTC_BOOTSTRAP=1 set by the caller as well.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]}
seconds=${2:-600}
shift $(($# < 2 ? $# : 2))

case "$target" in
  config) dict=config max_len=8192 ;;
  fault_header) dict=fault_header max_len=256 ;;
  origin_response | visitor_request) dict=http max_len=20480 ;;
  *)
    echo "unknown target $target (config, fault_header, origin_response, visitor_request)" >&2
    exit 2
    ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo fuzz is missing: cargo install cargo-fuzz" >&2
  exit 1
fi

mkdir -p "fuzz/corpus/$target"
exec cargo fuzz run --sanitizer "${EDGECASE_FUZZ_SANITIZER:-none}" "$target" \
  "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
  "-dict=fuzz/dicts/$dict.dict" "-max_len=$max_len" -timeout=30 \
  "-max_total_time=$seconds" -print_final_stats=1 "$@"

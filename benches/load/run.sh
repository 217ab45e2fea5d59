#!/usr/bin/env bash
# The load benchmark in one command: installs what is missing, then runs
# `cargo bench --bench load` with the arguments given (see benches/load/README.md).
#
#   benches/load/run.sh               # full run: 3 rounds of 10 s runs (about 9 minutes)
#   benches/load/run.sh -- --quick    # 1 round of 3 s runs
#
# As root (Debian/Ubuntu): apt-get installs nginx-light (or nginx), haproxy, wrk and
# util-linux (taskset), with package services kept from starting (nothing listens outside
# the benchmark's own loopback ports). Not root: it prints what to install and goes on; the
# benchmark skips a missing proxy or tool with a message. oha comes from crates.io
# (`cargo install oha --locked`, into ~/.cargo/bin) for any user, mitmproxy from PyPI
# (`python3 -m pip install mitmproxy`, for mitmdump).
set -euo pipefail

cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/sbin:/sbin:${CARGO_HOME:-$HOME/.cargo}/bin"

have() { command -v "$1" >/dev/null 2>&1; }

packages=()
have nginx || packages+=(nginx)
have haproxy || packages+=(haproxy)
have wrk || packages+=(wrk)
have taskset || packages+=(util-linux)

if ((${#packages[@]})); then
    if [[ $(id -u) -eq 0 ]] && have apt-get; then
        echo "load: installing ${packages[*]}" >&2
        apt-get update -qq
        # nginx-light where the distribution still has it, else nginx.
        for i in "${!packages[@]}"; do
            if [[ ${packages[$i]} == nginx ]] &&
                apt-cache show --no-all-versions nginx-light >/dev/null 2>&1; then
                packages[i]=nginx-light
            fi
        done
        # Keep the packages' services from starting (they would listen on port 80 and more).
        policy=/usr/sbin/policy-rc.d
        made_policy=
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod +x "$policy"
            made_policy=1
        fi
        status=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" || status=$?
        if [[ -n $made_policy ]]; then
            rm -f "$policy"
        fi
        if ((status != 0)); then
            echo "load: apt-get install failed; going on without what is missing" >&2
        fi
    else
        echo "load: not installed: ${packages[*]}" >&2
        echo "load: as root: apt-get install -y ${packages[*]/nginx/nginx-light}" >&2
        echo "load: going on without them (the table says what was skipped)" >&2
    fi
fi

if ! have oha; then
    if have cargo; then
        echo "load: installing oha (cargo install oha --locked)" >&2
        cargo install oha --locked || echo "load: oha failed to install; going on without it" >&2
    else
        echo "load: oha not installed (cargo install oha --locked); going on without it" >&2
    fi
fi

if ! have mitmdump; then
    if have python3 && python3 -m pip --version >/dev/null 2>&1; then
        echo "load: installing mitmproxy (python3 -m pip install mitmproxy)" >&2
        python3 -m pip install --quiet mitmproxy ||
            python3 -m pip install --quiet --break-system-packages mitmproxy ||
            echo "load: mitmproxy failed to install; going on without it" >&2
    else
        echo "load: mitmproxy not installed (pip install mitmproxy); going on without it" >&2
    fi
fi

# `run.sh -- --quick` and `run.sh --quick` both work.
if [[ ${1:-} == -- ]]; then
    shift
fi
exec cargo bench --bench load -- "$@"

#!/usr/bin/env bash
# `make demo`'s network part: boot examples/http-server on two vCPUs with a forward from
# 127.0.0.1, fetch a page and /stats (requests served per worker and CPU) with curl, then stop
# the guest. Every wait is bounded; the guest is stopped however the script ends.
#   tools/http-demo.sh IMAGE
set -u
image=$1
ferrite=${FERRITE:-bin/ferrite}

# A free port on 127.0.0.1 (nothing answers on it).
port=
for p in $(seq 18080 18179); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        port=$p
        break
    fi
done
[ -n "$port" ] || { echo "http-demo: no free port in 18080-18179" >&2; exit 1; }

log=$(mktemp)
# Its own session, so stopping it stops QEMU too.
setsid "$ferrite" run "$image" --cpus 2 --timeout 120 --net user \
    --forward "tcp:127.0.0.1:$port:8080" >"$log" 2>&1 </dev/null &
guest=$!
stop() {
    kill -KILL -- "-$guest" 2>/dev/null
    wait "$guest" 2>/dev/null
    rm -f "$log"
}
trap stop EXIT

for _ in $(seq 600); do
    grep -q "listening on" "$log" && break
    kill -0 "$guest" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "listening on" "$log"; then
    echo "http-demo: the server did not start; its output:" >&2
    cat "$log" >&2
    exit 1
fi
grep -v "^ferrite:" "$log"
echo "== curl -i http://127.0.0.1:$port/   (forwarded to the guest's port 8080)"
curl -sS -m 20 -i "http://127.0.0.1:$port/" || exit 1
# More clients at once, so both workers get some.
for _ in $(seq 8); do
    curl -sS -m 20 -o /dev/null -o /dev/null "http://127.0.0.1:$port/index.html" "http://127.0.0.1:$port/css/style.css" &
done
wait $(jobs -p | grep -vx "$guest") 2>/dev/null
echo "== curl http://127.0.0.1:$port/stats   (requests per worker and per CPU)"
curl -sS -m 20 "http://127.0.0.1:$port/stats" || exit 1

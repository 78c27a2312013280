#!/usr/bin/env bash
# Device calls 3 and 4 of the learning proof: `bash .lp/c3/gpu-run.sh PHASES` runs proof.ts with the
# carried Node on the model imported by gpu-setup.sh; results.json and the log go to $OUT, results.json
# every 5 s while it runs (a call stopped at its limit still returns what is under $OUT). Arguments
# after PHASES go to proof.ts (e.g. --peer-seconds 421 --peer-eval-seconds 30 --deadline 480).
set -uo pipefail
L=/root/lp REPO=$PWD PHASES=$1; shift
[[ -f $L/ok2 ]] || { echo "a fresh machine: gpu-setup.sh did not run here"; exit 5; }
[[ -d $L/app ]] || tar -C $L -xJf .lp/c3/app.tar.xz || exit 6
[[ -x $L/node ]] || { xz -dc .lp/c3/node.xz > $L/node && chmod +x $L/node; } || exit 7
$L/node --version
export PYTHONPATH=/tmp/site
unsafe=""
# The sandbox as code-sandbox runs it: unprivileged uid, bubblewrap, only /usr visible.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all bwrap --unshare-all --die-with-parent \
  --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc \
  --dev /dev --tmpfs /tmp /usr/bin/python3 -c 'print("sandbox ok")'; then
  echo "bubblewrap cannot run here: code-sandbox runs WITHOUT isolation (--unsafe-sandbox)"; unsafe=--unsafe-sandbox
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
(while sleep 5; do cp $L/out/results.json "$OUT/" 2>/dev/null; nvidia-smi --query-gpu=memory.used \
  --format=csv,noheader >> "$OUT/gpu-mem.txt"; done) & mirror=$!
timeout ${LIMIT:-560} $L/node $L/app/js/run/proof.mjs --data $L/app/data --out $L/out --phases "$PHASES" \
  --models-dir $L/models --model smollm2-135m-instruct --device cuda --python python3 --worker-dir $L/worker \
  $unsafe "$@" 2>&1 | tee -a "$OUT/run-$PHASES.log" | grep -v '^\s*$'
kill $mirror; cp $L/out/results.json "$OUT/" 2>/dev/null; ls -la "$OUT"

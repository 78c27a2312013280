#!/usr/bin/env bash
# Device call 2 of the learning proof (bench/learning/pack.sh made the parts; call 1 left gguf.aa in
# /root/lp): joins and checks the GGUF, installs the worker's missing wheels, imports
# the model, makes sure bubblewrap runs. Leaves /root/lp/ok2 when all went well.
set -uo pipefail
L=/root/lp REPO=$PWD
mkdir -p $L && cp -r .lp/c2/. $L/ && cd $L || exit 2
[[ -f gguf.aa ]] || { echo "gguf.aa missing: not the machine of call 1"; exit 3; }
cat gguf.aa gguf.ab > SmolLM2-135M-Instruct.Q4_1.gguf
echo "$(cat gguf.sha256)  SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c || exit 4
python3 -m pip install -q --no-index --no-deps --no-compile --find-links whl --target /tmp/site \
  gguf jsonschema referencing jsonschema-specifications rpds-py || exit 6
export PYTHONPATH=/tmp/site
rm -rf $L/worker && cp -r "$REPO/.lp/c2/worker" $L/worker  # this tree's policy worker (the device copy may lag)
(cd $L/worker && python3 -m multigym_worker.importer --models-dir $L/models \
  import-gguf $L/SmolLM2-135M-Instruct.Q4_1.gguf) || exit 7
command -v bwrap || { dpkg -x bubblewrap.deb /tmp/bw && cp /tmp/bw/usr/bin/bwrap /usr/bin/bwrap; }
ls -la /usr/bin/python3 /usr/bin/setpriv /usr/bin/prlimit /usr/bin/bwrap; bwrap --version
touch $L/ok2

#!/usr/bin/env bash
# Packs what the learning proof needs on a GPU machine that has Python/PyTorch but no Node, no
# node_modules and no data, into three parts that each fit one device call (64 MiB with the tree):
#   .lp/c1/gguf.aa                 first 52 MiB of the SmolLM2 GGUF
#   .lp/c2/gguf.ab whl/            the rest of the GGUF, the worker's missing Python wheels (gguf,
#                                  jsonschema and its deps), bubblewrap's .deb, gpu-setup.sh
#   .lp/c3/app.tar.xz node.xz      the driver bundled by esbuild (bench/learning/proof.ts), the DB
#                                  migrations, tool-use's knowledge base, PGlite, the data directory;
#                                  this machine's Node binary (xz); gpu-run.sh
# Usage: [NODE_XZ=node.xz] bash bench/learning/pack.sh GGUF WHEEL_DIR BWRAP_DEB   (after prepare.ts)
set -euo pipefail
cd "$(dirname "$0")/../.."
gguf=$1 whl=$2 deb=$3
rm -rf .lp/c1 .lp/c2 .lp/c3 .lp/app
mkdir -p .lp/c1 .lp/c2/whl .lp/c3 .lp/app/js/run .lp/app/node_modules/@electric-sql/pglite
split -b 52M "$gguf" .lp/gguf.
mv .lp/gguf.aa .lp/c1/ && mv .lp/gguf.ab .lp/c2/
if [[ -n ${NODE_XZ:-} ]]; then cp "$NODE_XZ" .lp/c3/node.xz; else xz -T0 -6 -c "$(command -v node)" > .lp/c3/node.xz; fi
cp "$whl"/*.whl .lp/c2/whl/ && cp "$deb" .lp/c2/bubblewrap.deb
cp bench/learning/gpu-setup.sh .lp/c2/ && cp bench/learning/gpu-run.sh .lp/c3/
# The worker's code travels too: the device machine's copy of the tree can be an older commit.
mkdir -p .lp/c2/worker && cp -r policy/worker/multigym_worker policy/worker/pyproject.toml .lp/c2/worker/
find .lp/c2/worker -name __pycache__ -prune -exec rm -rf {} +

# CommonJS dependencies inside an ESM bundle still expect require, __filename and __dirname.
banner="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url';
import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url);
const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
node_modules/.bin/esbuild bench/learning/proof.ts --bundle --platform=node --target=node20 --format=esm \
  --outfile=.lp/app/js/run/proof.mjs --log-level=warning \
  --external:@electric-sql/pglite --external:piscina --external:pg-native --external:onnxruntime-node --external:@resvg/resvg-js \
  --banner:js="$banner"
# rewards/pool/pool.ts starts checker threads from <bundle dir>/thread.mjs: bundle its handler there.
node_modules/.bin/esbuild rewards/pool/thread.ts --bundle --platform=node --target=node20 --format=esm \
  --outfile=.lp/app/js/run/thread.mjs --log-level=warning \
  --external:@electric-sql/pglite --external:piscina --external:pg-native --external:onnxruntime-node --external:@resvg/resvg-js \
  --banner:js="$banner"
cp environments/code-sandbox/judge/*.py .lp/app/js/run/     # judge/session.ts: <bundle dir>/runner.py …
cp -r db/migrations .lp/app/js/run/migrations            # db/client.ts: <bundle dir>/migrations
cp -r .lp/data .lp/app/data                               # the --data directory
cp environments/tool-use/data/kb.json .lp/app/data/kb.json # knowledgeBase.ts: <bundle dir>/../../data/kb.json
pg=node_modules/@electric-sql/pglite
cp $pg/package.json .lp/app/node_modules/@electric-sql/pglite/
dest=$PWD/.lp/app/node_modules/@electric-sql/pglite
# PGlite without its extension archives, source maps and type declarations (27 MB → 16 MB)
(cd $pg && find dist -type f ! -name '*.map' ! -name '*.tar.gz' ! -name '*.d.ts' ! -name '*.d.cts' \
  -exec cp --parents {} "$dest/" \;)
cp -r node_modules/piscina .lp/app/node_modules/   # starts its threads from its own dist/worker.js
tar -C .lp -cJf .lp/c3/app.tar.xz app
du -sh .lp/c1 .lp/c2 .lp/c3
sha256sum "$gguf" | cut -d' ' -f1 > .lp/c2/gguf.sha256

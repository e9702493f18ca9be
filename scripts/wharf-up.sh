#!/usr/bin/env bash
# Sets up and runs Wharf on this machine: installs what is missing, builds,
# starts the API server on 127.0.0.1:6443 with its state under ./wharf-data,
# and prints how to point kubectl at it. Ctrl-C stops it.
#   WHARF_LISTEN=127.0.0.1:6443 WHARF_DATA=./wharf-data scripts/wharf-up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -j"$(nproc)"

LISTEN=${WHARF_LISTEN:-127.0.0.1:6443}
DATA=${WHARF_DATA:-$PWD/wharf-data}
mkdir -p "$DATA"

build/release/wharf server --listen "$LISTEN" --data-dir "$DATA" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
for _ in $(seq 100); do
  curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

Wharf is running (pid $pid). Point kubectl at it:

  export KUBECONFIG=$DATA/kubeconfig
  kubectl get namespaces
  kubectl apply -f examples/pod.yaml
  kubectl get pods -o wide

Press Ctrl-C to stop.
MSG
wait $pid

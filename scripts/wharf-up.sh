#!/usr/bin/env bash
# Sets up and runs Wharf on this machine: installs what is missing, builds,
# starts the API server on 127.0.0.1:6443 (state under ./wharf-data, SQLite)
# and a local node agent (GPUs found through NVML, or 8 declared GPUs when the
# machine has none), and prints how to point kubectl at it. Ctrl-C stops both
# (containers started by the agent keep running under their shims until
# their pods are deleted).
#   WHARF_LISTEN=127.0.0.1:6443 WHARF_DATA=./wharf-data WHARF_GPUS=8:NVIDIA-H100-80GB-HBM3:81559 \
#   WHARF_RUN=/run/wharf-agent scripts/wharf-up.sh
# (WHARF_RUN: the agent's --run-dir; by default a tmpfs when one is writable.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
make -j"$(nproc)"

LISTEN=${WHARF_LISTEN:-127.0.0.1:6443}
DATA=${WHARF_DATA:-$PWD/wharf-data}
mkdir -p "$DATA"

apid=
build/release/wharf server --listen "$LISTEN" --data-dir "$DATA" &
pid=$!
trap 'kill $pid $apid 2>/dev/null; wait $pid $apid 2>/dev/null' INT TERM EXIT
for _ in $(seq 100); do
  curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

gpu_args=()
if ! ldconfig -p 2>/dev/null | grep -q libnvidia-ml.so.1; then
  gpu_args=(--gpus "${WHARF_GPUS:-8:NVIDIA-H100-80GB-HBM3:81559}")
  echo "No NVIDIA driver here: the agent declares ${gpu_args[1]}"
fi
# The pods' runtime state goes on a tmpfs when there is one, as containerd's /run.
run_args=()
if [ -n "${WHARF_RUN:-}" ]; then
  run_args=(--run-dir "$WHARF_RUN")
else
  for d in "${XDG_RUNTIME_DIR:-}" /run /dev/shm; do
    if [ -n "$d" ] && [ -w "$d" ] && [ "$(stat -f -c %T "$d" 2>/dev/null)" = tmpfs ]; then
      run_args=(--run-dir "$d/wharf-agent")
      break
    fi
  done
fi
build/release/wharf agent --server "http://$LISTEN" --node-name wharf-local --data-dir "$DATA/agent" "${run_args[@]}" "${gpu_args[@]}" &
apid=$!

cat <<MSG

Wharf is running (server pid $pid, agent pid $apid). Point kubectl at it:

  export KUBECONFIG=$DATA/kubeconfig
  kubectl get nodes
  kubectl apply -f examples/pod.yaml
  kubectl get pods -o wide
  kubectl logs hello
  kubectl apply -f examples/gpu-pod.yaml && kubectl logs -f gpu-hello

Press Ctrl-C to stop.
MSG
wait $pid $apid

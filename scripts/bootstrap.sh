#!/usr/bin/env bash
# Set-up that the README's commands run first; safe to run again (each step is skipped when already done):
#   1. a virtual environment in .venv with the project and its test tools (torch pinned by constraints.txt);
#   2. a Docker engine that answers (on Debian as root with none: install docker.io and start dockerd);
#   3. headless Chromium for the browser test of report.html (on Debian as root: Debian's chromium package);
#   4. the sandbox image (built once per recipe: offline from Debian's packages when no registry answers).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "bootstrap: $*" >&2; }

# 1. Python environment. Reinstalled only when pyproject.toml or constraints.txt change.
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 or newer is needed (found: $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11"; exit 1
fi
[ -x .venv/bin/python ] || { say "creating .venv"; "$python" -m venv .venv; }
stamp=.venv/.infinicode-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing infinicode and its dependencies into .venv (torch pinned by constraints.txt)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
  echo "$want" > "$stamp"
fi

# 2. Docker engine.
debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; }
if ! docker info >/dev/null 2>&1; then
  if debian_root; then
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1; then
      say "installing docker.io and mmdebstrap from Debian's packages"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io mmdebstrap >/dev/null
    fi
    if ! pgrep -x dockerd >/dev/null; then
      say "starting dockerd in the background (log: /var/log/infinicode-dockerd.log)"
      rm -f /var/run/docker.pid
      nohup setsid dockerd >/var/log/infinicode-dockerd.log 2>&1 </dev/null &
    fi
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if ! docker info >/dev/null 2>&1; then
    say "no Docker engine answers: start it (Linux: 'sudo systemctl start docker'; macOS/Windows: open Docker Desktop), then run this again"
    exit 1
  fi
fi
if debian_root && ! command -v mmdebstrap >/dev/null 2>&1; then  # the offline image recipe needs it
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null || true
fi

# 3. Headless Chromium (Debian's package) for the test that opens report.html in a real browser.
if ! command -v chromium >/dev/null 2>&1; then
  if debian_root; then
    say "installing chromium from Debian's packages (the browser test of report.html)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  else
    say "chromium not found: the browser test of report.html needs it (Debian/Ubuntu: 'sudo apt-get install chromium')"
  fi
fi

# 4. Sandbox image (prints its tag; a no-op when the image for this recipe exists).
.venv/bin/infinicode sandbox build >/dev/null
say "ready"

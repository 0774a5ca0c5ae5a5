#!/usr/bin/env bash
# Install scion, scion-agent, scion-broker and every plugin under a prefix (default
# /usr/local): <prefix>/bin/{scion,scion-agent,scion-broker} and
# <prefix>/lib/scion/plugins/<plugin>/{plugin.json,lib*.so}, where scion
# finds them. Builds release first unless --bin names a build folder.
#
# Usage: scripts/install.sh [--prefix DIR] [--bin BUILD_FOLDER]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=/usr/local
bin=""
while (($#)); do
    case $1 in
        --prefix) prefix=$2; shift ;;
        --bin) bin=$2; shift ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ -z $bin ]]; then
    swift build -c release --package-path "$root"
    bin=$(swift build -c release --package-path "$root" --show-bin-path)
fi
install -d "$prefix/bin" "$prefix/lib/scion/plugins"
install -m 0755 "$bin/scion" "$bin/scion-agent" "$bin/scion-broker" "$prefix/bin/"
for manifest in "$root"/Plugins/*/plugin.json; do
    folder=$(dirname "$manifest")
    name=$(basename "$folder")
    library=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["library"])' "$manifest")
    install -d "$prefix/lib/scion/plugins/$name"
    install -m 0644 "$manifest" "$prefix/lib/scion/plugins/$name/plugin.json"
    install -m 0755 "$bin/$library" "$prefix/lib/scion/plugins/$name/$library"
    echo "install: plugin $name"
done
# The kubernetes runtime's attach helper lives beside its library (issue 10).
install -m 0755 "$bin/scion-kube-attach" "$prefix/lib/scion/plugins/runtime-kubernetes/scion-kube-attach"
echo "install: $prefix/bin/scion ($("$prefix/bin/scion" --version))"

#!/usr/bin/env bash
# Install scion, scion-agent, scion-broker, scion-plugin-host and every plugin
# under a prefix (default /usr/local): <prefix>/bin/{scion,scion-agent,
# scion-broker,scion-plugin-host}, <prefix>/lib/scion/plugins/<plugin>/{plugin.json,
# lib*.so and the files the manifest lists},
# and the plugin kit: <prefix>/include/scion/scion_plugin.h,
# <prefix>/share/scion/{schemas,plugins.md,examples}. Builds release first unless
# --bin names a build folder.
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
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ -z $bin ]]; then
    swift build -c release --package-path "$root"
    bin=$(swift build -c release --package-path "$root" --show-bin-path)
fi
install -d "$prefix/bin" "$prefix/lib/scion/plugins"
install -m 0755 "$bin/scion" "$bin/scion-agent" "$bin/scion-broker" "$bin/scion-plugin-host" "$prefix/bin/"
# The plugin author's kit (`scion plugins sdk`): header, schemas, guide, examples.
install -d "$prefix/include/scion" "$prefix/share/scion/schemas" "$prefix/share/scion/examples"
install -m 0644 "$root/Sources/ScionPluginABI/include/scion_plugin.h" "$prefix/include/scion/"
install -m 0644 "$root"/docs/schemas/*.json "$prefix/share/scion/schemas/"
install -m 0644 "$root/docs/plugins.md" "$prefix/share/scion/plugins.md"
for example in "$root"/Plugins/examples/*/; do
    install -d "$prefix/share/scion/examples/$(basename "$example")"
    install -m 0644 "$example"* "$prefix/share/scion/examples/$(basename "$example")/"
done
# Each plugin's folder: its manifest, its library and the files its manifest
# lists (the kubernetes runtime's attach helper and exec library, which have
# no plugin.json, so they are never taken for plugins).
for manifest in "$root"/Plugins/*/plugin.json; do
    folder=$(dirname "$manifest")
    name=$(basename "$folder")
    install -d "$prefix/lib/scion/plugins/$name"
    install -m 0644 "$manifest" "$prefix/lib/scion/plugins/$name/plugin.json"
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("\n".join([m["library"]] + m.get("files", [])))' "$manifest" |
        while read -r file; do
            install -D -m 0755 "$bin/$file" "$prefix/lib/scion/plugins/$name/$file"
        done
    echo "install: plugin $name"
done
echo "install: $prefix/bin/scion ($("$prefix/bin/scion" --version))"

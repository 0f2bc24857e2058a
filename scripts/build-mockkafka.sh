#!/usr/bin/env bash
# Builds the Kafka test broker (tools/mockkafka/mockkafka.c, librdkafka's mock cluster) into .cache/mockkafka, or
# into the path given as $1. Does nothing when the binary is newer than its source.
#
#   --install   install Debian's librdkafka-dev and gcc first when missing (apt-get; needs root): what CI does.
#   --optional  when gcc or librdkafka-dev is missing, say so and exit 0 without a binary (npm test then reports
#               the Kafka tests as skipped, outside CI).
#
# The binary is written under a temporary name and renamed, so a concurrent build never leaves a half-written file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tools/mockkafka/mockkafka.c"
install=0
optional=0
out=
for arg in "$@"; do
  case "$arg" in
    --install) install=1 ;;
    --optional) optional=1 ;;
    -*) echo "usage: $0 [--install] [--optional] [output path]" >&2; exit 2 ;;
    *) out=$arg ;;
  esac
done
out=${out:-$root/.cache/mockkafka}

if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
  echo "mockkafka is up to date: $out"
  exit 0
fi

missing=()
[ -f /usr/include/librdkafka/rdkafka_mock.h ] || missing+=(librdkafka-dev)
command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ] && [ "$install" = 1 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  missing=()
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "cannot build mockkafka: missing ${missing[*]} (apt-get install ${missing[*]}, or $0 --install as root)" >&2
  [ "$optional" = 1 ] && exit 0
  exit 1
fi

mkdir -p "$(dirname "$out")"
tmp="$out.$$.tmp"
trap 'rm -f "$tmp"' EXIT
gcc -O2 -Wall -Wextra -Werror -o "$tmp" "$src" -lrdkafka -lpthread
mv -f "$tmp" "$out"
echo "built $out"

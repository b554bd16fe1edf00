#!/usr/bin/env bash
# Checks that the headers under include/tinygan/ include only downward.
#
# Why: docs/architecture.md ("Layers") promises that the library is built in
# layers, core -> autograd -> ops -> nn -> optim -> data -> io -> dist -> gan,
# that a header includes only headers of its own layer and of lower ones, and
# that a check enforces this. This script is that check; CI runs it, and it is
# quick enough for a pre-commit hook (find and awk; nothing is compiled).
#
# The layer of a header is the first folder under include/tinygan/ in its path
# (include/tinygan/ops/kernels/x.hpp is in ops), so new files and sub-folders
# need no change here; a new layer goes into `layers` below and into the table
# in docs/architecture.md. Outside the layers are include/tinygan/version.hpp,
# which any header may include and which includes no tinygan header itself,
# and the umbrella include/tinygan/gan.hpp, which may include anything and
# which no header under include/ may include.
#
# Reported, one line each as file:line: message, and exit status 1:
#   - an include of a higher layer, or of gan.hpp;
#   - an include of a file that does not exist under include/;
#   - an include of, or a header in, a folder that is not a layer (or a header
#     directly in include/tinygan/ other than gan.hpp and version.hpp);
#   - a tinygan path with . or .. in it, or a quoted include not spelled
#     "tinygan/..." (e.g. "../core/tensor.hpp"), which would hide its layer.
# Only lines of the form `#include "tinygan/..."` or `#include <tinygan/...>`
# (spaces allowed around the #) are read; other angle-bracket includes are
# system and third-party headers and are not checked.
#
# Usage: scripts/check_layers.sh   (from any directory)
set -euo pipefail
cd "$(dirname "$0")/.."

layers="core autograd ops nn optim data io dist gan" # lowest first

if [[ ! -d include/tinygan ]]; then
  echo "check_layers: include/tinygan/ not found under $PWD" >&2
  exit 1
fi

mapfile -d '' headers < <(find include/tinygan -type f -name '*.hpp' -print0 | LC_ALL=C sort -z)
mapfile -d '' existing < <(find include -type f -print0)
if ((${#headers[@]} == 0)); then
  echo "check_layers: no headers under include/tinygan/" >&2
  exit 1
fi

# awk reads the list of existing files (one per line on stdin) first, then the
# headers. Its last line of output is the number of tinygan includes it read.
set +e
output=$(printf '%s\n' "${existing[@]}" |
  LC_ALL=C awk -v layers="$layers" '
    BEGIN {
      n = split(layers, layer_name, " ")
      for (i = 1; i <= n; i++) rank[layer_name[i]] = i
      while ((getline line < "/dev/stdin") > 0) exists[line] = 1
      bad = 0
      includes = 0
      for (i = 1; i < ARGC; i++) {
        if (layer_of(substr(ARGV[i], length("include/") + 1)) != "") continue
        bad = 1
        if (last_folder != "")
          print ARGV[i] ": header in folder " last_folder "/, which is not a layer (" layers ")"
        else
          print ARGV[i] ": header directly in include/tinygan/, outside the layers (only gan.hpp and version.hpp may be there)"
      }
    }
    function report(msg) {
      print FILENAME ":" FNR ": " msg
      bad = 1
    }
    function allowed(r,    s, i) {
      s = layer_name[1]
      for (i = 2; i <= r; i++) s = s ", " layer_name[i]
      return s
    }
    # The layer of a path relative to include/ ("tinygan/nn/x.hpp" -> "nn"),
    # "version" or "umbrella" for the two files outside the layers, "" for
    # anything else; the folder name it found, if any, goes into last_folder.
    function layer_of(path,    parts, k) {
      last_folder = ""
      k = split(path, parts, "/")
      if (parts[1] != "tinygan") return ""
      if (k == 2) {
        if (parts[2] == "version.hpp") return "version"
        if (parts[2] == "gan.hpp") return "umbrella"
        return ""
      }
      last_folder = parts[2]
      return (parts[2] in rank) ? parts[2] : ""
    }
    FNR == 1 { from = layer_of(substr(FILENAME, length("include/") + 1)) }
    {
      line = $0
      sub(/\r$/, "", line)
      if (line !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) next
      sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
      quote = substr(line, 1, 1)
      close_char = (quote == "<") ? ">" : "\""
      rest = substr(line, 2)
      end = index(rest, close_char)
      if (end == 0) next
      target = substr(rest, 1, end - 1)
      if (target !~ /^tinygan\//) {
        if (quote == "\"")
          report("quoted include \"" target "\" is not spelled \"tinygan/...\", so its layer cannot be checked")
        next
      }
      includes++
      if (("/" target "/") ~ /\/\.\.?\//) {
        report("include path " target " has . or .. in it; spell it tinygan/<layer>/...")
        next
      }
      if (!(("include/" target) in exists))
        report("includes " target ", which does not exist under include/")
      to = layer_of(target)
      if (to == "") {
        if (last_folder != "")
          report("includes " target ": " last_folder "/ is not a layer (" layers ")")
        else
          report("includes " target ", which is outside the layers (only gan.hpp and version.hpp are)")
        next
      }
      if (to == "umbrella") {
        report("includes the umbrella header " target "; no header under include/ may")
        next
      }
      if (from == "version" && to != "version") {
        report("version.hpp includes " target "; every layer may include version.hpp, so it may include no tinygan header")
        next
      }
      if (from == "" || from == "umbrella" || to == "version") next
      if (rank[to] > rank[from])
        report(from " includes " to " (" target "); " from " may include only " allowed(rank[from]))
    }
    END {
      print includes
      exit bad
    }
  ' "${headers[@]}")
status=$?
set -e
if ((status > 1)); then
  echo "check_layers: awk failed (status $status)" >&2
  exit 2
fi

count=${output##*$'\n'}
violations=${output%"$count"}
if ((status != 0)); then
  printf '%s' "$violations" >&2
  echo "layering: violations above (docs/architecture.md, \"Layers\": a header may include only its own and lower layers: ${layers// / → })" >&2
  exit 1
fi
echo "layering: ${#headers[@]} headers, $count includes, all downward (${layers// / → })"

#!/usr/bin/env bash
# check_soname.sh -- libstrand is a versioned shared object and what links it finds it.
#
#   tests/scripts/check_soname.sh LIB VERSION SOVERSION EXE...
#     LIB        the built library (meson: common_lib.full_path(), libstrand.so.VERSION)
#     VERSION    the project version (0.1.0); SOVERSION the SONAME's number (0)
#     EXE...     binaries linked against it (tools, the broker is not one)
#
# Checks, with readelf -d: the library's SONAME is libstrand.so.SOVERSION and its file is
# libstrand.so.VERSION with the libstrand.so.SOVERSION symlink next to it; every EXE NEEDs
# libstrand.so.SOVERSION (never the unversioned name) and, without LD_LIBRARY_PATH, resolves
# it (ldd, through meson's build RUNPATH) to that library. Prints what it checked; exits 1 on
# the first difference.
set -u
lib=$1 version=$2 soversion=$3
shift 3
fail() { echo "check_soname: $*" >&2; exit 1; }

command -v readelf >/dev/null || fail "readelf not found (binutils)"
[ -f "$lib" ] || fail "$lib does not exist"
dir=$(dirname "$lib")
soname=libstrand.so.$soversion
[ "$(basename "$lib")" = "libstrand.so.$version" ] ||
  fail "library file is $(basename "$lib"), expected libstrand.so.$version"
got=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME of $lib is '${got:-none}', expected $soname"
echo "ok: $lib has SONAME $got"
[ -L "$dir/$soname" ] || fail "$dir/$soname (the SONAME symlink) is missing"
[ "$(readlink -f "$dir/$soname")" = "$(readlink -f "$lib")" ] ||
  fail "$dir/$soname points to $(readlink "$dir/$soname"), not $(basename "$lib")"
echo "ok: $dir/$soname -> $(readlink "$dir/$soname")"

for exe in "$@"; do
  [ -x "$exe" ] || fail "$exe is not an executable"
  needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(libstrand[^]]*\)\]/\1/p')
  [ "$needed" = "$soname" ] || fail "$exe NEEDs '${needed:-no libstrand}', expected $soname"
  resolved=$(env -u LD_LIBRARY_PATH ldd "$exe" | sed -n "s/^[[:space:]]*$soname => \([^ ]*\).*/\1/p")
  [ -n "$resolved" ] || fail "$exe: ldd does not resolve $soname: $(env -u LD_LIBRARY_PATH ldd "$exe" | grep libstrand)"
  [ "$(readlink -f "$resolved")" = "$(readlink -f "$lib")" ] ||
    fail "$exe resolves $soname to $resolved, not to $lib"
  echo "ok: $(basename "$exe") NEEDs $needed, found at $resolved"
done
